// Package e2e holds the chaos test: the whole pipeline in the local cloud under
// model faults, handler crashes, duplicate deliveries and aborted executions (see
// docs/reliability.md). It has tests only.
package e2e
