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
	m.reg.MustRegister(m.calls, m.took, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "rolecall_index_revision", Help: "The store revision the index reflects."},
			func() float64 { return float64(live.Revision()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "rolecall_index_lag_revisions", Help: "Revisions committed to the store that the index has not applied yet."},
			func() float64 {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				head, err := store.Head(ctx)
				if err != nil || head < live.Revision() {
					return 0
				}
				return float64(head - live.Revision())
			}))
	return m
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
