package replicatest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/client"
	"github.com/rolecall/rolecall/internal/pgtest"
	"github.com/rolecall/rolecall/internal/testenv"
	"github.com/rolecall/rolecall/transfer"
)

// bin is the rolecall binary the tests run, built once by TestMain.
var bin string

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "replicatest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin = filepath.Join(dir, "rolecall")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/rolecall/rolecall/cmd/rolecall").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building rolecall for the replica tests: %v\n%s", err, out)
		return 1
	}
	return pgtest.Main(m)
}

// repoFile returns a path of the repository.
func repoFile(rel string) string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "..", rel)
}

// cluster is one PostgreSQL database and the replicas serving it.
type cluster struct {
	t     testing.TB
	dsn   string
	key   string // the operator's API key
	model string
}

// newCluster makes a fresh database, migrated, with an operator key.
func newCluster(t testing.TB) *cluster {
	t.Helper()
	c := &cluster{t: t, dsn: pgtest.DSN(t), model: repoFile("testdata/bench/rbacdp.yaml")}
	out, err := exec.Command(bin, "key", "create", "--store", c.dsn, "--operator", "--name", "replica tests").Output()
	if err != nil {
		t.Fatalf("rolecall key create: %v", err)
	}
	c.key = strings.TrimSpace(string(out))
	return c
}

// replica is one `rolecall serve` process.
type replica struct {
	c      *cluster
	env    []string // added to the test's environment
	args   []string
	name   string
	addr   string // http://127.0.0.1:PORT
	client *client.Client
	http   *http.Client
	cmd    *exec.Cmd
	exited chan struct{}
	log    *testenv.SyncBuffer
}

// start starts a replica with extra serve flags; it is killed when the
// test ends, and its log printed if the test failed.
func (c *cluster) start(name string, args ...string) *replica {
	c.t.Helper()
	return c.startEnv(nil, name, args...)
}

// startEnv starts a replica with variables added to its environment.
func (c *cluster) startEnv(env []string, name string, args ...string) *replica {
	c.t.Helper()
	r := &replica{c: c, name: name, env: env, args: args, log: &testenv.SyncBuffer{}}
	r.launch("127.0.0.1:0")
	c.t.Cleanup(func() {
		r.kill()
		if c.t.Failed() {
			c.t.Logf("log of replica %s:\n%s", r.name, r.log.String())
		}
	})
	return r
}

// launch runs the process and waits until it listens.
func (r *replica) launch(addr string) {
	t := r.c.t
	t.Helper()
	args := append([]string{"serve", "--store", r.c.dsn, "--model", r.c.model, "--addr", addr, "--no-console"}, r.args...)
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the test
	cmd.Env = append(os.Environ(), r.env...)
	cmd.Stderr = r.log
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting replica %s: %v", r.name, err)
	}
	r.cmd, r.exited = cmd, make(chan struct{})
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(r.log, line)
			if _, after, ok := strings.Cut(line, " on http://"); ok {
				a, _, _ := strings.Cut(after, " ")
				listening <- a
			}
		}
		io.Copy(io.Discard, out)
	}()
	go func() { cmd.Wait(); close(r.exited) }()
	select {
	case a := <-listening:
		r.addr = "http://" + a
	case <-r.exited:
		t.Fatalf("replica %s exited at start:\n%s", r.name, r.log.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("replica %s did not listen within 60 s:\n%s", r.name, r.log.String())
	}
	r.http = &http.Client{Transport: h2c(), Timeout: 30 * time.Second}
	r.client = client.New(r.addr, r.c.key, client.WithHTTPClient(r.http), client.WithGRPC(), client.WithoutCompression())
}

// kill kills the process at once (SIGKILL, as a crash would) and waits.
func (r *replica) kill() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	select {
	case <-r.exited:
		return
	default:
	}
	r.cmd.Process.Kill()
	<-r.exited
}

// restart starts the killed replica again on the same port.
func (r *replica) restart() {
	r.c.t.Helper()
	r.launch(strings.TrimPrefix(r.addr, "http://"))
}

// h2c is an HTTP/2 transport without TLS, for gRPC to a local replica.
func h2c() *http.Transport {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	return &http.Transport{Protocols: p, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext, MaxIdleConnsPerHost: 64}
}

// load writes objects through a replica's Import and returns the revision.
func (r *replica) load(ctx context.Context, snap *rolecall.Snapshot) rolecall.Revision {
	r.c.t.Helper()
	var buf bytes.Buffer
	if _, err := transfer.ExportSnapshot(snap, "", &buf); err != nil {
		r.c.t.Fatal(err)
	}
	_, rev, err := r.client.Import(ctx, strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n"))
	if err != nil {
		r.c.t.Fatalf("import through replica %s: %v", r.name, err)
	}
	return rev
}

// metric reads one value from a replica's /metrics ("" labels: the first
// sample of the name).
func (r *replica) metric(name string) (float64, bool) {
	res, err := r.http.Get(r.addr + "/metrics")
	if err != nil {
		return 0, false
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err == nil {
				return f, true
			}
		}
	}
	return 0, false
}

// over reports whether ctx has ended, or its deadline has passed: a call
// may fail with the deadline before ctx's own timer fires (the server
// and the gRPC client both check the deadline), and such a failure is
// the end of a run, not a failed call.
func over(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}
