// Package replicatest tests rolecall as several replicas on one
// PostgreSQL: each test starts a throwaway database (internal/pgtest) and
// several `rolecall serve` processes on loopback ports, writes through one
// replica and reads through another, and breaks things (kills a replica,
// stops the database) while load runs. Nothing is mocked: the replicas are
// the real binary, built once per test run.
//
// The tests check consistency across replicas: the new-enemy problem
// (a check at a revision token never reflects an older grant), read your
// own writes through another replica, faults under load, and a soak of the
// rbac-dp workload with writes. The benchmarks measure replication lag,
// catch-up speed and the check throughput of two replicas.
package replicatest
