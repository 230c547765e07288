// Package redisb is the second package of the child run: its Redis tests
// skip too, and the terminal must not be told twice.
package redisb

import (
	"testing"

	"wxoa/internal/redistest"
)

func TestServer(t *testing.T) { redistest.Start(t) }

func TestCluster(t *testing.T) { redistest.StartCluster(t, 3) }
