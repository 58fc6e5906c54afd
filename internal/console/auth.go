package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/crypto/argon2"

	"github.com/rolecall/rolecall"
)

// Passwords are hashed with argon2id at OWASP's first recommended setting
// (19 MiB, 2 passes, 1 lane), about 35 ms here.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
	// MinPassword is the shortest password accepted.
	MinPassword = 10
)

// HashPassword returns a password's argon2id hash in the PHC string format.
func HashPassword(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// checkPassword reports whether a password matches a PHC argon2id hash,
// in constant time; a malformed hash never matches.
func checkPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(key) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1
}

// dummyHash is checked against when a sign-in names nobody, so that the
// answer takes as long as for a real account.
var dummyHash = HashPassword("not anybody's password")

// who is the person signed in: a user, or the operator.
type who struct {
	User     string `json:"user,omitempty"`
	Operator bool   `json:"operator,omitempty"`
	Name     string `json:"-"`
}

// session is what the store keeps of a session (under the hash of its
// token): who, since when, last seen, and whether the one-time code is
// still to be given.
type session struct {
	User      string    `json:"user,omitempty"`
	Operator  bool      `json:"operator,omitempty"`
	Created   time.Time `json:"created"`
	Seen      time.Time `json:"seen"`
	NeedsCode bool      `json:"needs_code,omitempty"`
	// Setup marks a set-password link: it signs nobody in.
	Setup       bool `json:"setup,omitempty"`
	FailedCodes int  `json:"failed_codes,omitempty"`
}

const cookieName = "rolecall_session"

// tokenKey is what the store keys a session by: the hash of its token, so
// a copy of the store gives no session away.
func tokenKey(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// newSession starts a session (on every sign-in, so a token known before
// signing in is worth nothing after) and sets its cookie.
func (c *Console) newSession(w http.ResponseWriter, r *http.Request, s session) error {
	if old, err := r.Cookie(cookieName); err == nil {
		c.o.Creds.DeleteSession(r.Context(), tokenKey(old.Value))
	}
	token := newToken()
	now := c.o.Now()
	s.Created, s.Seen = now, now
	if err := c.saveSession(r, token, s); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: token, Path: "/", HttpOnly: true, Secure: c.o.Secure || r.TLS != nil,
		SameSite: http.SameSiteLaxMode})
	return nil
}

// newPasswordError says what is wrong with a new password and its
// confirmation, or "" when nothing is.
func newPasswordError(pw, confirm string) string {
	switch {
	case len([]rune(pw)) < MinPassword:
		return fmt.Sprintf("The password is too short: use at least %d characters.", MinPassword)
	case pw != confirm:
		return "The two passwords differ."
	}
	return ""
}

// newToken returns a random token: 32 bytes, URL-safe base64.
func newToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (c *Console) saveSession(r *http.Request, token string, s session) error {
	data, _ := json.Marshal(s)
	return c.o.Creds.CommitSession(r.Context(), tokenKey(token), s.User, data, s.Created.Add(c.o.MaxAge))
}

// current returns the session of a request, if it has a live one; an
// expired or idle one is deleted.
func (c *Console) current(r *http.Request) (string, *session, error) {
	ck, err := r.Cookie(cookieName)
	if err != nil || ck.Value == "" {
		return "", nil, nil
	}
	data, found, err := c.o.Creds.FindSession(r.Context(), tokenKey(ck.Value))
	if err != nil || !found {
		return "", nil, err
	}
	var s session
	if err := json.Unmarshal(data, &s); err != nil || s.Setup {
		return "", nil, nil
	}
	now := c.o.Now()
	if now.Sub(s.Seen) > c.o.IdleTimeout || now.Sub(s.Created) > c.o.MaxAge {
		c.o.Creds.DeleteSession(r.Context(), tokenKey(ck.Value))
		return "", nil, nil
	}
	if now.Sub(s.Seen) > time.Minute { // record activity, at most once a minute
		s.Seen = now
		if err := c.saveSession(r, ck.Value, s); err != nil {
			return "", nil, err
		}
	}
	return ck.Value, &s, nil
}

// authed runs h for a signed-in person, and sends anyone else to sign in.
func (c *Console) authed(h func(http.ResponseWriter, *http.Request, *who)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, s, err := c.current(r)
		if err != nil {
			c.fail(w, r, nil, err)
			return
		}
		if s == nil || s.NeedsCode {
			if r.Header.Get("HX-Request") == "true" {
				w.Header().Set("HX-Redirect", "/signin")
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		p := &who{User: s.User, Operator: s.Operator, Name: "the operator"}
		if !s.Operator {
			u, ok := c.o.Live.Engine().User(s.User)
			if !ok { // deleted since
				c.o.Creds.DeleteSessions(r.Context(), s.User)
				http.Redirect(w, r, "/signin", http.StatusSeeOther)
				return
			}
			p.Name = firstNonEmpty(u.Name, u.Email, u.ID)
		}
		h(w, r, p)
	}
}

type signinForm struct {
	Login, Next, Error string
	Code               bool // ask for the one-time code
}

func (c *Console) signinPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "signin", signinForm{Next: safeNext(r.FormValue("next"))})
}

// OperatorLogin is what the operator signs in as.
const OperatorLogin = "operator"

// signin checks a login (an email or a user id, or "operator") and a
// password. Every failure says the same, so that the form does not tell
// which accounts exist.
func (c *Console) signin(w http.ResponseWriter, r *http.Request) {
	login := strings.TrimSpace(r.FormValue("login"))
	f := signinForm{Login: login, Next: safeNext(r.FormValue("next"))}
	user, known := c.loginUser(login)
	var cred rolecall.Credential
	found := false
	if known {
		var err error
		if cred, found, err = c.o.Creds.Credential(r.Context(), user); err != nil {
			c.fail(w, r, nil, err)
			return
		}
	}
	if !found {
		checkPassword(dummyHash, r.FormValue("password"))
	}
	if !found || !checkPassword(cred.Password, r.FormValue("password")) {
		f.Error = "The sign-in name or the password is wrong."
		c.render(w, r, http.StatusUnauthorized, "signin", f)
		return
	}
	s := session{User: user, Operator: login == OperatorLogin, NeedsCode: cred.TOTP != ""}
	if err := c.newSession(w, r, s); err != nil {
		c.fail(w, r, nil, err)
		return
	}
	if s.NeedsCode {
		f.Code = true
		c.render(w, r, http.StatusOK, "signin", f)
		return
	}
	http.Redirect(w, r, firstNonEmpty(f.Next, "/"), http.StatusSeeOther)
}

// loginUser finds whom a sign-in name names: the operator ("" for
// OperatorLogin), a user by email, or a user by id.
func (c *Console) loginUser(login string) (user string, known bool) {
	e := c.o.Live.Engine()
	if login == OperatorLogin {
		return "", true
	}
	if id, ok := e.UserByEmail(login); ok {
		return id, true
	}
	_, ok := e.User(login)
	return login, ok
}

// maxFailedCodes wrong one-time codes end the session: sign in again.
const maxFailedCodes = 5

// signinCode checks the one-time code of a session that passed the
// password; a code is accepted once.
func (c *Console) signinCode(w http.ResponseWriter, r *http.Request) {
	token, s, err := c.current(r)
	if err != nil {
		c.fail(w, r, nil, err)
		return
	}
	f := signinForm{Next: safeNext(r.FormValue("next")), Code: true}
	if s == nil || !s.NeedsCode {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	cred, found, err := c.o.Creds.Credential(r.Context(), s.User)
	if err != nil || !found {
		c.fail(w, r, nil, errors.Join(err, errors.New("the credential went away during sign-in")))
		return
	}
	ok, err := c.checkCode(r, cred, strings.TrimSpace(r.FormValue("code")))
	if err != nil {
		c.fail(w, r, nil, err)
		return
	}
	if !ok {
		s.FailedCodes++
		if s.FailedCodes >= maxFailedCodes {
			c.o.Creds.DeleteSession(r.Context(), tokenKey(token))
			f = signinForm{Error: "Too many wrong codes; sign in again."}
			c.render(w, r, http.StatusUnauthorized, "signin", f)
			return
		}
		c.saveSession(r, token, *s)
		f.Error = "The code is wrong or was used already; enter the current one."
		c.render(w, r, http.StatusUnauthorized, "signin", f)
		return
	}
	s.NeedsCode = false
	if err := c.newSession(w, r, *s); err != nil {
		c.fail(w, r, nil, err)
		return
	}
	http.Redirect(w, r, firstNonEmpty(f.Next, "/"), http.StatusSeeOther)
}

// totpOpts are the one-time code's parameters: RFC 6238's defaults, one
// step of clock skew either way.
var totpOpts = totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// checkCode accepts a valid code whose time step is later than the last
// accepted one.
func (c *Console) checkCode(r *http.Request, cred rolecall.Credential, code string) (bool, error) {
	if len(code) != 6 {
		return false, nil
	}
	now := c.o.Now()
	for _, d := range []int{0, -1, 1} {
		at := now.Add(time.Duration(d) * 30 * time.Second)
		want, err := totp.GenerateCodeCustom(cred.TOTP, at, totpOpts)
		if err != nil {
			return false, err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return c.o.Creds.UseTOTPStep(r.Context(), cred.User, at.Unix()/30)
		}
	}
	return false, nil
}

func (c *Console) signout(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(cookieName); err == nil {
		if err := c.o.Creds.DeleteSession(r.Context(), tokenKey(ck.Value)); err != nil {
			c.fail(w, r, nil, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: c.o.Secure || r.TLS != nil, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// accountView is the account page: password change and one-time codes.
type accountView struct {
	*view
	Enrolled             bool
	Secret, URL          string
	PasswordErr, CodeErr string
	PasswordOK, EnrolOK  bool
}

func (c *Console) accountPage(w http.ResponseWriter, r *http.Request, p *who, a accountView) {
	a.view = &view{Who: p, Words: c.words, Orgs: c.orgsOf(c.o.Live.Engine(), p), Tab: "account"}
	cred, _, err := c.o.Creds.Credential(r.Context(), p.User)
	if err != nil {
		c.fail(w, r, a.view, err)
		return
	}
	a.Enrolled = cred.TOTP != ""
	if !a.Enrolled && a.Secret == "" {
		key, err := totp.Generate(totp.GenerateOpts{Issuer: "rolecall", AccountName: firstNonEmpty(p.User, OperatorLogin)})
		if err != nil {
			c.fail(w, r, a.view, err)
			return
		}
		a.Secret, a.URL = key.Secret(), key.URL()
	}
	status := http.StatusOK
	if a.PasswordErr != "" || a.CodeErr != "" {
		status = http.StatusBadRequest
	}
	c.render(w, r, status, "account", a)
}

func (c *Console) account(w http.ResponseWriter, r *http.Request, p *who) {
	c.accountPage(w, r, p, accountView{})
}

// changePassword sets a new password after checking the current one, and
// ends every other session of the person.
func (c *Console) changePassword(w http.ResponseWriter, r *http.Request, p *who) {
	cred, found, err := c.o.Creds.Credential(r.Context(), p.User)
	if err != nil {
		c.fail(w, r, nil, err)
		return
	}
	pw := r.FormValue("new")
	if !found || !checkPassword(cred.Password, r.FormValue("current")) {
		c.accountPage(w, r, p, accountView{PasswordErr: "The current password is wrong."})
		return
	}
	if msg := newPasswordError(pw, r.FormValue("confirm")); msg != "" {
		c.accountPage(w, r, p, accountView{PasswordErr: msg})
		return
	}
	cred.Password, cred.Updated = HashPassword(pw), c.o.Now().UTC()
	if err := c.o.Creds.SetCredential(r.Context(), cred); err != nil {
		c.fail(w, r, nil, err)
		return
	}
	if _, err := c.o.Creds.DeleteSessions(r.Context(), p.User); err != nil {
		c.fail(w, r, nil, err)
		return
	}
	if err := c.newSession(w, r, session{User: p.User, Operator: p.Operator}); err != nil {
		c.fail(w, r, nil, err)
		return
	}
	c.accountPage(w, r, p, accountView{PasswordOK: true})
}

// enrolTOTP turns one-time codes on, once the person shows a code made
// from the offered secret.
func (c *Console) enrolTOTP(w http.ResponseWriter, r *http.Request, p *who) {
	cred, found, err := c.o.Creds.Credential(r.Context(), p.User)
	if err != nil || !found {
		c.fail(w, r, nil, errors.Join(err, errors.New("no credential to add one-time codes to")))
		return
	}
	secret := r.FormValue("secret")
	if cred.TOTP != "" {
		c.accountPage(w, r, p, accountView{CodeErr: "One-time codes are on already."})
		return
	}
	trial := cred
	trial.TOTP = secret
	if ok, err := totp.ValidateCustom(strings.TrimSpace(r.FormValue("code")), secret, c.o.Now(), totpOpts); err != nil || !ok {
		c.accountPage(w, r, p, accountView{Secret: secret, URL: r.FormValue("url"), CodeErr: "That code does not match; enter the code your app shows now."})
		return
	}
	trial.TOTPStep, trial.Updated = c.o.Now().Unix()/30, c.o.Now().UTC()
	if err := c.o.Creds.SetCredential(r.Context(), trial); err != nil {
		c.fail(w, r, nil, err)
		return
	}
	c.accountPage(w, r, p, accountView{EnrolOK: true})
}

// safeNext keeps a return path only if it is one of the console's own.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return ""
	}
	return next
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// atoi reads a form number, 0 when absent or malformed.
func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
