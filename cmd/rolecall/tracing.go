package main

import (
	"context"
	"fmt"
	"net/url"
	"os"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// tracing returns the tracer provider serve records spans with: one that
// exports them over OTLP/HTTP to endpoint (a collector's base URL
// such as http://127.0.0.1:4318, to which /v1/traces is added, or a full URL), or to where the standard OTEL_EXPORTER_OTLP_*
// variables say, with the sampler OTEL_TRACES_SAMPLER names (default: follow
// the caller's decision, else sample all). With neither, tracing is off:
// nil, and nothing is recorded. stop flushes what is pending.
func tracing(ctx context.Context, endpoint string) (tp trace.TracerProvider, stop func(context.Context) error, err error) {
	if endpoint == "" && os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return nil, func(context.Context) error { return nil }, nil
	}
	var opts []otlptracehttp.Option
	if endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, nil, fmt.Errorf("--otlp-endpoint %q: give the collector's URL, such as http://127.0.0.1:4318", endpoint)
		}
		if u.Path == "" || u.Path == "/" {
			u.Path = "/v1/traces" // a base URL, as OTEL_EXPORTER_OTLP_ENDPOINT
		}
		opts = append(opts, otlptracehttp.WithEndpointURL(u.String()))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("the OTLP trace exporter (--otlp-endpoint %q): %w", endpoint, err)
	}
	res := resource.Default() // reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
	if os.Getenv("OTEL_SERVICE_NAME") == "" {
		if res, err = resource.Merge(res, resource.NewSchemaless(semconv.ServiceName("rolecall"))); err != nil {
			return nil, nil, err
		}
	}
	p := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return p, p.Shutdown, nil
}
