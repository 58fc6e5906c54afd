package server

import (
	"context"
	"time"

	"connectrpc.com/connect/v2"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/internal/api/rolecallv1/rolecallv1connect"
)

// The gRPC health protocol (grpc.health.v1.Health), on the same
// connect.Server as the API so that every transport answers it: serving
// while the store answers. It needs no key.
var (
	healthMethods = healthpb.File_grpc_health_v1_health_proto.Services().ByName("Health").Methods()
	healthCheck   = connect.Spec{StreamType: connect.StreamTypeUnary, Procedure: "/grpc.health.v1.Health/Check", Schema: healthMethods.ByName("Check")}
	healthWatch   = connect.Spec{StreamType: connect.StreamTypeServer, Procedure: "/grpc.health.v1.Health/Watch", Schema: healthMethods.ByName("Watch")}
)

// healthEvery is how often Watch reads the store's state again.
const healthEvery = time.Second

func registerHealth(srv *connect.Server, store rolecall.Reader) {
	state := func(ctx context.Context, service string) (healthpb.HealthCheckResponse_ServingStatus, error) {
		switch service {
		case "", rolecallv1connect.AuthzServiceName, rolecallv1connect.AdminServiceName:
		default:
			return 0, connect.NewError(connect.CodeNotFound, "no such service: "+service+"; ask about \"\" (the server), "+
				rolecallv1connect.AuthzServiceName+" or "+rolecallv1connect.AdminServiceName)
		}
		if _, err := store.Head(ctx); err != nil {
			return healthpb.HealthCheckResponse_NOT_SERVING, nil
		}
		return healthpb.HealthCheckResponse_SERVING, nil
	}
	srv.Register(
		connect.Method{Spec: healthCheck, Handler: func(ctx context.Context, _ connect.Spec, stream connect.ServerStream) error {
			var req healthpb.HealthCheckRequest
			if err := stream.Receive(&req); err != nil {
				return err
			}
			st, err := state(ctx, req.Service)
			if err != nil {
				return err
			}
			return stream.Send(&healthpb.HealthCheckResponse{Status: st})
		}},
		connect.Method{Spec: healthWatch, Handler: func(ctx context.Context, _ connect.Spec, stream connect.ServerStream) error {
			var req healthpb.HealthCheckRequest
			if err := stream.Receive(&req); err != nil {
				return err
			}
			last := healthpb.HealthCheckResponse_ServingStatus(-1)
			tick := time.NewTicker(healthEvery)
			defer tick.Stop()
			for {
				st, err := state(ctx, req.Service)
				if err != nil {
					return err
				}
				if st != last {
					if err := stream.Send(&healthpb.HealthCheckResponse{Status: st}); err != nil {
						return err
					}
					last = st
				}
				select {
				case <-ctx.Done():
					return nil
				case <-tick.C:
				}
			}
		}},
	)
}
