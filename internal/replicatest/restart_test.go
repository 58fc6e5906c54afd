package replicatest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// This file's test stops the package's PostgreSQL server and starts it
// again; tests after it make their databases on a new maintenance
// connection (pgtest connects again when it finds the old one lost), so
// the tests may run in any order (go test -shuffle=on).

// postgresCtl stops and starts the test's PostgreSQL server itself, as its
// owner would: it finds the data directory and the server's command line
// through the database.
type postgresCtl struct {
	t    *testing.T
	data string
	opts []string // the server's arguments after -D DIR, from postmaster.opts
	bin  string
}

func newPostgresCtl(t *testing.T, dsn string) *postgresCtl {
	t.Helper()
	if os.Getenv("ROLECALL_PGTEST_URL") != "" {
		t.Skip("the database is an outside server (ROLECALL_PGTEST_URL); this test stops and starts the server it runs on")
	}
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	p := &postgresCtl{t: t}
	if err := conn.QueryRow(t.Context(), `SHOW data_directory`).Scan(&p.data); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(p.data, "postmaster.opts"))
	if err != nil {
		t.Fatal(err)
	}
	// /usr/lib/postgresql/15/bin/postgres "-D" "/tmp/.../data" "-c" "port=..." ...
	fields := strings.Fields(strings.TrimSpace(string(b)))
	p.bin = filepath.Dir(fields[0])
	var args []string
	for _, f := range fields[1:] {
		args = append(args, strings.Trim(f, `"`))
	}
	for i := 0; i < len(args); i++ {
		if args[i] == "-D" {
			i++
			continue
		}
		p.opts = append(p.opts, args[i])
	}
	return p
}

func (p *postgresCtl) pgctl(args ...string) {
	p.t.Helper()
	path := filepath.Join(p.bin, "pg_ctl")
	cmd := exec.Command(path, args...)
	if os.Getuid() == 0 {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		p.t.Fatalf("pg_ctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func (p *postgresCtl) stop() { p.pgctl("-D", p.data, "-w", "-m", "fast", "stop") }

func (p *postgresCtl) start() {
	p.pgctl("-D", p.data, "-w", "-t", "60", "-l", filepath.Join(p.data, "..", "restarted.log"), "-o", strings.Join(p.opts, " "), "start")
}

// TestPostgresRestartUnderLoad: stop PostgreSQL while two replicas take
// writes and checks, and start it again. While it is down, fresh reads and
// writes fail as unavailable, health says so, and no answer is wrong;
// once it is back the replicas recover without a restart.
func TestPostgresRestartUnderLoad(t *testing.T) {
	c := newCluster(t)
	pg := newPostgresCtl(t, c.dsn)
	a, b := c.start("A"), c.start("B")
	rev := a.load(t.Context(), loadFixture())
	l := startLoad(t, rev, a, a, b)
	time.Sleep(500 * time.Millisecond)
	pg.stop()
	stopped := true
	defer func() {
		if stopped {
			pg.start()
		}
	}()
	time.Sleep(1500 * time.Millisecond)
	_, uDown, _, _ := l.tallies[b].counts()
	res, err := b.http.Get(b.addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 503 {
		t.Errorf("B's health with PostgreSQL stopped: %d, want 503", res.StatusCode)
	}
	if up, ok := b.metric("rolecall_store_up"); !ok || up != 0 {
		t.Errorf("B's rolecall_store_up with PostgreSQL stopped: %v (%v), want 0", up, ok)
	}
	pg.start()
	stopped = false
	// recovery: writes and fresh reads succeed again on the same processes
	okBefore, _, _, _ := l.tallies[b].counts()
	wBefore, _, _, _ := l.writes.counts()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok, _, _, _ := l.tallies[b].counts()
		w, _, _, _ := l.writes.counts()
		if ok > okBefore+50 && w > wBefore+10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("15 s after PostgreSQL came back the replicas have not recovered: B %s; writes %s", l.tallies[b], &l.writes)
		}
		time.Sleep(50 * time.Millisecond)
	}
	l.end()
	if uDown == 0 {
		t.Errorf("no read on B failed as unavailable while PostgreSQL was stopped: %s", l.tallies[b])
	}
	for _, r := range []*replica{a, b} {
		tl := l.tallies[r]
		if _, _, w, f := tl.counts(); w > 0 || f > 0 {
			t.Errorf("replica %s: %s", r.name, tl)
		}
		t.Logf("replica %s: %s", r.name, tl)
	}
	if _, _, w, f := l.writes.counts(); w > 0 || f > 0 {
		t.Errorf("writes through A: %s", &l.writes)
	}
	t.Logf("writes: %s", &l.writes)
}
