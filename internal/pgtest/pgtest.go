// Package pgtest gives tests a real PostgreSQL: one throwaway cluster per
// test package, started from the installed server binaries on first use,
// and a fresh database per test, so tests never see each other's data.
//
// A test package wires it up once:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// and each test asks for a database:
//
//	dsn := pgtest.DSN(t)
//
// The cluster lives in a temporary directory with fsync off and listens on
// a free loopback port; it is stopped and removed when the package's tests
// end, and also when the test binary dies without cleaning up (a watchdog
// process waits for the binary to exit). Running as root, initdb and pg_ctl
// run as the postgres user, since the server refuses to run as root.
//
// The binaries are taken from the highest /usr/lib/postgresql/*/bin, else
// from PATH. Without them the tests that need a database are skipped, or
// fail when CI=true. Setting ROLECALL_PGTEST_URL to a server's URL (a
// CockroachDB, say) uses that server instead of starting one; the
// databases made there are dropped after each test.
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the environment variable that points the tests at an
// existing server instead of a throwaway cluster.
const EnvURL = "ROLECALL_PGTEST_URL"

var (
	mainCalled bool

	once    sync.Once
	srv     *server // the cluster, once started
	srvErr  error   // why it could not start
	missing bool    // srvErr is about missing binaries: skip rather than fail

	adminMu sync.Mutex
	admin   *pgx.Conn // to the server's maintenance database, for CREATE DATABASE
)

// Main runs the package's tests and stops the cluster afterwards, if one
// was started. Call it from TestMain: os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	mainCalled = true
	code := m.Run()
	adminMu.Lock()
	if admin != nil {
		admin.Close(context.Background())
		admin = nil
	}
	adminMu.Unlock()
	if srv != nil {
		if err := srv.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: stopping PostgreSQL: %v\n", err)
		}
	}
	return code
}

// DSN returns the URL of a new, empty database on the package's cluster,
// starting the cluster on first use. The database belongs to t alone. When
// PostgreSQL is not installed, DSN skips t (fails it when CI=true).
func DSN(t testing.TB) string {
	t.Helper()
	if !mainCalled {
		t.Fatal("pgtest: call os.Exit(pgtest.Main(m)) from TestMain so the cluster is stopped after the tests")
	}
	once.Do(func() { srvErr = start() })
	if srvErr != nil {
		if missing && os.Getenv("CI") != "true" {
			t.Skip(srvErr)
		}
		t.Fatal(srvErr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := "rc_" + randomHex(8)
	if err := exec1(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if srv.external {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := exec1(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
				t.Logf("pgtest: dropping %s: %v", name, err)
			}
		})
	}
	u := *srv.url
	u.Path = "/" + name
	return u.String()
}

// exec1 runs one statement on the shared maintenance connection,
// connecting again once when the connection was lost (a test restarted
// the server).
func exec1(ctx context.Context, sql string) error {
	adminMu.Lock()
	defer adminMu.Unlock()
	for attempt := 0; ; attempt++ {
		if admin == nil || admin.IsClosed() {
			c, err := pgx.Connect(ctx, srv.url.String())
			if err != nil {
				return fmt.Errorf("connecting to %s: %w", srv.url.Redacted(), err)
			}
			admin = c
		}
		_, err := admin.Exec(ctx, sql)
		if err == nil || attempt > 0 || !admin.IsClosed() {
			return err
		}
	}
}

// server is a running cluster, or an external server.
type server struct {
	url      *url.URL // to the maintenance database "postgres"
	external bool
	dir      string
	watchdog *exec.Cmd
	stdin    io.WriteCloser // closing it tells the watchdog to stop the cluster
}

func start() error {
	if s := os.Getenv(EnvURL); s != "" {
		u, err := url.Parse(s)
		if err != nil {
			return fmt.Errorf("pgtest: %s: %v", EnvURL, err)
		}
		srv = &server{url: u, external: true}
		return nil
	}
	bin, err := findBin("/usr/lib/postgresql/*/bin")
	if err != nil {
		missing = true
		return err
	}
	s, err := startCluster(bin)
	if err != nil {
		return err
	}
	srv = s
	return nil
}

// findBin returns the directory holding initdb and pg_ctl: of the
// directories matching glob (Debian's /usr/lib/postgresql/N/bin, off PATH)
// the one of the highest version N, else the one on PATH.
func findBin(glob string) (string, error) {
	dirs, _ := filepath.Glob(glob)
	slices.SortFunc(dirs, func(a, b string) int { return versionOf(a) - versionOf(b) })
	for _, d := range slices.Backward(dirs) {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		d := filepath.Dir(p)
		if isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", errors.New("pgtest: PostgreSQL server binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin or on PATH; install them (Debian: apt-get install postgresql) or set " + EnvURL)
}

// versionOf reads the major version out of /usr/lib/postgresql/N/bin.
func versionOf(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// startCluster runs initdb and pg_ctl start in a new temporary directory.
func startCluster(bin string) (_ *server, err error) {
	asRoot := os.Geteuid() == 0
	var uid, gid int
	if asRoot {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("pgtest: running as root needs a postgres user to run the server as (Debian's postgresql package creates it): %v", err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}
	base := "" // os.TempDir
	if asRoot {
		base = "/tmp" // TMPDIR may be private to root, and the server runs as postgres
	}
	dir, err := os.MkdirTemp(base, "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %v", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	if asRoot {
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, fmt.Errorf("pgtest: %v", err)
		}
	}
	// run runs a server binary, as the postgres user when we are root.
	run := func(name string, args ...string) *exec.Cmd {
		path := filepath.Join(bin, name)
		if asRoot {
			return exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
		}
		return exec.Command(path, args...)
	}
	data := filepath.Join(dir, "data")
	if out, err := run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
		"--locale=C", "--no-sync", "--no-instructions").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pgtest: initdb: %v\n%s", err, out)
	}

	// The watchdog stops the cluster and removes its directory when its
	// stdin closes: when Main closes it, or when the test binary exits in
	// any other way (a panic, a timeout, a kill). It has its own process
	// group so that an interrupt from the terminal does not end it first.
	pgctl := filepath.Join(bin, "pg_ctl")
	script := fmt.Sprintf("read _; %q -D %q -m immediate stop >/dev/null 2>&1; rm -rf %q", pgctl, data, dir)
	wd := exec.Command("sh", "-c", script)
	if asRoot {
		wd = exec.Command("runuser", "-u", "postgres", "--", "sh", "-c", script)
	}
	wd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := wd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("pgtest: %v", err)
	}
	if err := wd.Start(); err != nil {
		return nil, fmt.Errorf("pgtest: starting the watchdog: %v", err)
	}
	s := &server{dir: dir, watchdog: wd, stdin: stdin}
	defer func() {
		if err != nil {
			s.stop()
		}
	}()

	// A free port can be taken by someone else before the server binds it;
	// try a few.
	logfile := filepath.Join(dir, "server.log")
	for attempt := 0; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("pgtest: %v", err)
		}
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "+
			"-c full_page_writes=off -c max_connections=200 -c shared_buffers=32MB", port, dir)
		out, err := run("pg_ctl", "-D", data, "-l", logfile, "-w", "-t", "60", "-o", opts, "start").CombinedOutput()
		if err == nil {
			s.url = &url.URL{Scheme: "postgres", User: url.User("postgres"),
				Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Path: "/postgres",
				RawQuery: "sslmode=disable"}
			return s, nil
		}
		log, _ := os.ReadFile(logfile)
		if attempt < 3 && bytes.Contains(log, []byte("could not bind")) {
			continue
		}
		return nil, fmt.Errorf("pgtest: pg_ctl start: %v\n%s\n%s", err, out, tail(log, 2000))
	}
}

// stop stops the cluster and removes its directory, by telling the
// watchdog to.
func (s *server) stop() error {
	if s.watchdog == nil {
		return nil
	}
	s.stdin.Close()
	err := s.watchdog.Wait()
	s.watchdog = nil
	return err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
