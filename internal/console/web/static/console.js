// The console works without this file; it only makes the organization
// switch take effect on change rather than on a button press, and selects
// an invitation link whole for copying.
document.addEventListener("change", function (ev) {
  var el = ev.target;
  if (el.matches && el.matches("select[data-switch]")) {
    window.location.assign("/o/" + encodeURIComponent(el.value) + "/members");
  }
});

// A read-only field marked data-select (an invitation link) is selected
// whole when focused, ready to copy.
document.addEventListener("focusin", function (ev) {
  var el = ev.target;
  if (el.matches && el.matches("input[data-select]")) {
    el.select();
  }
});
