package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// listen opens LISTEN_ADDR. Its errors name the variable and what to do:
// a port already taken is the first thing a second `wxoa` or a leftover
// server runs into, and net's "bind: address already in use" names
// neither.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	_, port, _ := net.SplitHostPort(addr)
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		next := ":8081"
		if p, perr := strconv.Atoi(port); perr == nil && p > 0 && p < 65535 {
			next = ":" + strconv.Itoa(p+1)
		}
		return nil, fmt.Errorf("LISTEN_ADDR=%s is in use by another process (another wxoa?): stop it "+
			"(`ss -ltnp 'sport = :%s'` names it) or set LISTEN_ADDR to a free address, e.g. LISTEN_ADDR=%s: %w", addr, port, next, err)
	case errors.Is(err, syscall.EACCES):
		return nil, fmt.Errorf("LISTEN_ADDR=%s: a port below 1024 needs root or CAP_NET_BIND_SERVICE; "+
			"listen on a higher port (the default :8080) behind a proxy instead: %w", addr, err)
	}
	return nil, fmt.Errorf("listen on LISTEN_ADDR=%s: %w", addr, err)
}
