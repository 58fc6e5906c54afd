// Package bench runs the reference workload rbac-dp against a rolecall
// server, with the protocol the peers were measured by: load everything
// through the API, then closed-loop phases (checks at several
// concurrencies, then lookups), every answer compared with the
// generator's truth.
package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/client"
	"github.com/rolecall/rolecall/internal/rbacdp"
	"github.com/rolecall/rolecall/transfer"
)

// Options configure a run.
type Options struct {
	Addr      string // http://127.0.0.1:7080; loopback only
	Key       string // an operator key (the load is an import)
	Scale     int    // percent of the full workload's users, projects and resources (100: full)
	Warmup    time.Duration
	Duration  time.Duration
	ServerPID int // when set, the server's CPU and RSS are reported
	Checks    []int
	Lookups   []int
	// Protocol is "grpc" (the default: gRPC, binary protobuf) or "json"
	// (Connect's HTTP/JSON), both over one HTTP/2 connection.
	Protocol string
}

// Phase is one measured phase.
type Phase struct {
	Name        string  `json:"name"`
	Concurrency int     `json:"concurrency"`
	Requests    int     `json:"requests"`
	PerSecond   float64 `json:"per_second"`
	P50ms       float64 `json:"p50_ms"`
	P90ms       float64 `json:"p90_ms"`
	P99ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	Wrong       int     `json:"wrong"`
	Errors      int     `json:"errors"`
	CPU         float64 `json:"server_cpu_cores,omitempty"`
}

// Result is a whole run.
type Result struct {
	Scale        int     `json:"scale_percent"`
	Protocol     string  `json:"protocol"`
	Objects      int     `json:"objects"`
	LoadSeconds  float64 `json:"load_seconds"`
	RSSAfterLoad int64   `json:"server_rss_after_load_mib,omitempty"`
	RSSEnd       int64   `json:"server_rss_end_mib,omitempty"`
	Phases       []Phase `json:"phases"`
}

// Wrong reports whether any answer was wrong or failed.
func (r *Result) Wrong() bool {
	for _, p := range r.Phases {
		if p.Wrong > 0 || p.Errors > 0 {
			return true
		}
	}
	return false
}

// loopback refuses addresses other than this machine's.
func loopback(addr string) error {
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" {
		return fmt.Errorf("--addr %q: give http://host:port", addr)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--addr %q: the benchmark runs against a loopback address only", addr)
}

// Run loads the workload and measures every phase, writing progress to w.
func Run(ctx context.Context, o Options, w io.Writer) (*Result, error) {
	if err := loopback(o.Addr); err != nil {
		return nil, err
	}
	if o.Scale <= 0 {
		o.Scale = 100
	}
	if len(o.Checks) == 0 {
		o.Checks = []int{1, 8, 64}
	}
	if len(o.Lookups) == 0 {
		o.Lookups = []int{1, 8}
	}
	var copts []client.Option
	switch o.Protocol {
	case "", "grpc":
		o.Protocol = "grpc"
		copts = append(copts, client.WithGRPC())
	case "json":
		copts = append(copts, client.WithHTTPClient(&http.Client{Transport: h2c()}), client.WithoutCompression(), client.WithJSON())
	default:
		return nil, fmt.Errorf("--protocol %q: use grpc or json", o.Protocol)
	}
	c := client.New(o.Addr, o.Key, copts...)
	defer c.Close()
	wl := rbacdp.Generate(rbacdp.ScaledParams(o.Scale))
	res := &Result{Scale: o.Scale, Protocol: o.Protocol}

	// load through the API, 5,000 objects a request
	users, orgs, err := loadOrder(wl)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if res.Objects, err = load(ctx, c, users, orgs); err != nil {
		return nil, err
	}
	res.LoadSeconds = time.Since(start).Seconds()
	fmt.Fprintf(w, "loaded %d objects in %.1f s\n", res.Objects, res.LoadSeconds)
	if o.ServerPID > 0 {
		res.RSSAfterLoad = rssMiB(o.ServerPID)
	}

	checks := wl.CheckQueries(1_000_000)
	var next atomic.Int64
	for _, conc := range o.Checks {
		p := phase(ctx, o, fmt.Sprintf("check C=%d", conc), conc, func(ctx context.Context) (bool, error) {
			q := checks[int(next.Add(1)-1)%len(checks)]
			d, _, err := c.Check(ctx, client.Question{Subject: rbacdp.ID("user", int(q.User)), Permission: rbacdp.Perms[q.Perm],
				Target: rolecall.ResourceTarget("dataset", rbacdp.ID("ds", int(q.Dataset)))})
			return err == nil && d.Allowed == q.Want, err
		})
		fmt.Fprintln(w, p.line())
		res.Phases = append(res.Phases, p)
	}
	lookups := wl.LookupQueries(100_000)
	var nextL atomic.Int64
	for _, conc := range o.Lookups {
		p := phase(ctx, o, fmt.Sprintf("lookup C=%d", conc), conc, func(ctx context.Context) (bool, error) {
			u := int(lookups[int(nextL.Add(1)-1)%len(lookups)])
			ids, nextPage, err := c.LookupResources(ctx, rbacdp.ID("user", u), "labels_view", "dataset", "", rolecall.Page{}, client.Consistency{})
			return err == nil && nextPage == "" && len(ids) == wl.LookupCount(u, slices.Index(rbacdp.Perms, "labels_view")), err
		})
		fmt.Fprintln(w, p.line())
		res.Phases = append(res.Phases, p)
	}
	if o.ServerPID > 0 {
		res.RSSEnd = rssMiB(o.ServerPID)
	}
	return res, nil
}

// phase runs closed-loop workers: each sends its next request when the
// previous answer arrives; warm-up first, then the measured window.
func phase(ctx context.Context, o Options, name string, conc int, call func(context.Context) (bool, error)) Phase {
	run := func(d time.Duration, record bool) (lat []time.Duration, wrong, errs int) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		stop := time.Now().Add(d)
		for range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var mine []time.Duration
				var bad, failed int
				for time.Now().Before(stop) && ctx.Err() == nil {
					t := time.Now()
					ok, err := call(ctx)
					mine = append(mine, time.Since(t))
					switch {
					case err != nil:
						failed++
					case !ok:
						bad++
					}
				}
				if record {
					mu.Lock()
					lat, wrong, errs = append(lat, mine...), wrong+bad, errs+failed
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return
	}
	run(o.Warmup, false)
	cpu0 := cpuSeconds(o.ServerPID)
	t0 := time.Now()
	lat, wrong, errs := run(o.Duration, true)
	elapsed := time.Since(t0).Seconds()
	p := Phase{Name: name, Concurrency: conc, Requests: len(lat), PerSecond: float64(len(lat)) / elapsed, Wrong: wrong, Errors: errs}
	if o.ServerPID > 0 {
		p.CPU = (cpuSeconds(o.ServerPID) - cpu0) / elapsed
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		q := func(f float64) float64 {
			return float64(lat[min(len(lat)-1, int(f*float64(len(lat))))].Microseconds()) / 1000
		}
		p.P50ms, p.P90ms, p.P99ms, p.MaxMs = q(.5), q(.9), q(.99), float64(lat[len(lat)-1].Microseconds())/1000
	}
	return p
}

func (p Phase) line() string {
	s := fmt.Sprintf("%-12s %9.0f req/s  p50 %7.3f ms  p90 %7.3f ms  p99 %7.3f ms  max %8.3f ms  wrong %d  errors %d",
		p.Name, p.PerSecond, p.P50ms, p.P90ms, p.P99ms, p.MaxMs, p.Wrong, p.Errors)
	if p.CPU > 0 {
		s += fmt.Sprintf("  server CPU %.2f cores", p.CPU)
	}
	return s
}

// Table prints the result as the peers' table in the reference workload's
// README.
func (r *Result) Table(w io.Writer) {
	get := func(name string) Phase {
		for _, p := range r.Phases {
			if p.Name == name {
				return p
			}
		}
		return Phase{}
	}
	fmt.Fprintln(w, "| system | configuration | checks/s C=1 / 8 / 64 | check p50 C=1 | lookups/s C=1 / 8 | lookup p50 C=1 | load | RSS end |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|")
	rss := "-"
	if r.RSSEnd > 0 {
		rss = fmt.Sprintf("%d MiB", r.RSSEnd)
	}
	proto := map[string]string{"grpc": "gRPC", "json": "HTTP/JSON"}[r.Protocol]
	fmt.Fprintf(w, "| rolecall | scale %d%%, %s on loopback | %.0f / %.0f / %.0f | %.3f ms | %.1f / %.1f | %.2f ms | %.1f s (%d objects) | %s |\n",
		r.Scale, proto, get("check C=1").PerSecond, get("check C=8").PerSecond, get("check C=64").PerSecond, get("check C=1").P50ms,
		get("lookup C=1").PerSecond, get("lookup C=8").PerSecond, get("lookup C=1").P50ms, r.LoadSeconds, r.Objects, rss)
}

// batch is how many objects one import request carries.
const batch = 5000

// loadOrder cuts the workload into import lines in the order they can be
// written: first the users (identities of no organization), then each
// organization's part (its scopes, members, groups, resources and
// bindings, in dependency order). Organizations are independent of one
// another, so their parts may load side by side.
func loadOrder(w *rbacdp.Workload) (users []string, orgs [][]string, err error) {
	var snap rolecall.Snapshot
	snap.Scopes, snap.Users, snap.Memberships, snap.Groups, snap.GroupMembers, snap.Resources, snap.Bindings = w.Data()
	if users, err = jsonLines(&rolecall.Snapshot{Users: snap.Users}); err != nil {
		return nil, nil, err
	}
	for o := range w.P.Orgs {
		part := snap.Part(func(org string) bool { return org == rbacdp.ID("org", o) })
		part.Users = nil
		lines, err := jsonLines(part)
		if err != nil {
			return nil, nil, err
		}
		orgs = append(orgs, lines)
	}
	return users, orgs, nil
}

// jsonLines writes a snapshot as import lines, in import order.
func jsonLines(snap *rolecall.Snapshot) ([]string, error) {
	var buf bytes.Buffer
	if _, err := transfer.ExportSnapshot(snap, "", &buf); err != nil {
		return nil, err
	}
	if buf.Len() == 0 {
		return nil, nil
	}
	return strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n"), nil
}

// load imports the users, then the organizations' parts two at a time
// (each part's requests in order), so that while one request is written
// the other's index update and decoding run on the second core. It
// returns how many objects the server took.
func load(ctx context.Context, c *client.Client, users []string, orgs [][]string) (int, error) {
	send := func(lines []string) (int, error) {
		total := 0
		for i := 0; i < len(lines); i += batch {
			n, _, err := c.Import(ctx, lines[i:min(i+batch, len(lines))])
			if err != nil {
				return total, fmt.Errorf("loading: %w", err)
			}
			total += n
		}
		return total, nil
	}
	total, err := send(users)
	if err != nil {
		return total, err
	}
	var mu sync.Mutex
	var first error
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(orgs); i = int(next.Add(1) - 1) {
				n, err := send(orgs[i])
				mu.Lock()
				total += n
				if err != nil && first == nil {
					first = err
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	return total, first
}

// cpuSeconds reads a process's CPU time (user + system) from /proc.
func cpuSeconds(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fields) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(fields[11], 64)
	st, _ := strconv.ParseFloat(fields[12], 64)
	return (ut + st) / 100 // clock ticks (USER_HZ = 100 on Linux)
}

// rssMiB reads a process's resident set size from /proc.
func rssMiB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return kb / 1024
		}
	}
	return 0
}

// h2c is an HTTP transport speaking HTTP/2 without TLS, so every worker
// shares one connection, as gRPC clients do.
func h2c() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	t.Protocols = p
	return t
}
