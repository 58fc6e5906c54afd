// The console works without this file; it only makes the organization
// switch take effect on change rather than on a button press.
document.addEventListener("change", function (ev) {
  var el = ev.target;
  if (el.matches && el.matches("select[data-switch]")) {
    window.location.assign("/o/" + encodeURIComponent(el.value) + "/members");
  }
});
