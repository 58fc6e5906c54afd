package server

import (
	"context"
	"net/http"
	"time"

	"connectrpc.com/connect/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/engine"
)

// metrics are the server's Prometheus metrics, on a registry of its own.
type metrics struct {
	reg   *prometheus.Registry
	calls *prometheus.CounterVec
	took  *prometheus.HistogramVec
}

func newMetrics(live *engine.Live, store rolecall.Reader) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rolecall_calls_total", Help: "API calls, by procedure and status code.",
		}, []string{"procedure", "code"}),
		took: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "rolecall_call_seconds", Help: "API call durations, by procedure.",
			Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"procedure"}),
	}
	applied := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "rolecall_replication_lag_seconds",
		Help:    "For each revision the index applied from the store's change log, the time from its write (by the writer's clock) to its application here.",
		Buckets: []float64{.001, .0025, .005, .01, .02, .03, .05, .075, .1, .15, .25, .5, 1, 2.5, 5, 10, 30},
	})
	live.OnApply(func(_ rolecall.Revision, committed time.Time) { applied.Observe(time.Since(committed).Seconds()) })
	m.reg.MustRegister(m.calls, m.took, applied, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		replication{live, store})
	return m
}

// replication reports how far the index is behind the store, reading the
// store's head once per scrape.
type replication struct {
	live  *engine.Live
	store rolecall.Reader
}

var (
	revisionDesc  = prometheus.NewDesc("rolecall_index_revision", "The store revision the index reflects.", nil, nil)
	headDesc      = prometheus.NewDesc("rolecall_store_head_revision", "The store's latest committed revision, as read at the scrape.", nil, nil)
	lagDesc       = prometheus.NewDesc("rolecall_index_lag_revisions", "Revisions committed to the store that the index has not applied yet.", nil, nil)
	stalenessDesc = prometheus.NewDesc("rolecall_index_staleness_seconds",
		"Time since the index last caught up with the store's head: every write committed before then is applied, later ones may not be.", nil, nil)
	storeUpDesc = prometheus.NewDesc("rolecall_store_up", "1 if the store answered the scrape's read of its head, else 0.", nil, nil)
)

func (r replication) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{revisionDesc, headDesc, lagDesc, stalenessDesc, storeUpDesc} {
		ch <- d
	}
}

func (r replication) Collect(ch chan<- prometheus.Metric) {
	st := readState(r.live, r.store)
	ch <- prometheus.MustNewConstMetric(revisionDesc, prometheus.GaugeValue, float64(st.Revision))
	ch <- prometheus.MustNewConstMetric(stalenessDesc, prometheus.GaugeValue, st.Staleness)
	up := 0.0
	if st.StoreUp {
		up = 1
		ch <- prometheus.MustNewConstMetric(headDesc, prometheus.GaugeValue, float64(st.Head))
		ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, float64(st.Lag))
	}
	ch <- prometheus.MustNewConstMetric(storeUpDesc, prometheus.GaugeValue, up)
}

// state is where a replica stands against its store: what /healthz
// reports and the replication metrics export.
type state struct {
	Status    string            `json:"status"` // serving, or store unavailable
	Revision  rolecall.Revision `json:"revision"`
	Head      rolecall.Revision `json:"head,omitempty"`
	Lag       uint64            `json:"lag_revisions"`
	Staleness float64           `json:"staleness_seconds"`
	StoreUp   bool              `json:"store_up"`
	Orgs      []string          `json:"orgs,omitempty"`
	Error     string            `json:"error,omitempty"`
}

// readState reads the store's head (for at most a second) and compares
// the index with it.
func readState(live *engine.Live, store rolecall.Reader) state {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	rev := live.Revision()
	st := state{Status: "serving", Revision: rev, Orgs: live.Orgs(), Staleness: time.Since(live.CaughtUp()).Seconds()}
	head, err := store.Head(ctx)
	if err != nil {
		st.Status = "store unavailable"
		st.Error = rolecall.Message(err) + "; answers without a revision token come from the index as it is, fresh reads fail until the store is back"
		return st
	}
	st.StoreUp, st.Head = true, head
	if head > rev {
		st.Lag = uint64(head - rev)
	}
	return st
}

// interceptor counts and times every call.
func (m *metrics) interceptor(next connect.ServerFunc) connect.ServerFunc {
	return func(ctx context.Context, spec connect.Spec, stream connect.ServerStream) error {
		start := time.Now()
		err := next(ctx, spec, stream)
		code := "ok"
		if err != nil {
			code = connect.CodeOf(err).String()
		}
		m.calls.WithLabelValues(spec.Procedure, code).Inc()
		m.took.WithLabelValues(spec.Procedure).Observe(time.Since(start).Seconds())
		return err
	}
}

func (m *metrics) handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }
