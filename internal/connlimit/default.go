package connlimit

// Ceiling bounds the default cap however high the file limit (systemd's
// hard limit is 524288, Docker's 1048576). What the server really holds is
// tens to a few hundred connections: WeChat's pushes are answered in
// milliseconds, or within REPLY_DEADLINE when forwarded, and forwards are
// capped at 256 in flight (reply.DefaultMaxInFlight); a reverse proxy keeps
// a small pool (nginx's example: keepalive 32); business services keep a
// few each. 4096 is ten times that, and costs at most about 100 MB when
// every slot holds an idle keep-alive; past it, idle ones are closed first,
// so only more than 4096 busy connections ever wait.
const Ceiling = 4096

// DefaultMax is the cap for a process whose soft open-file limit is
// fileLimit: half of it, leaving the other half for outbound connections
// (WeChat, Redis, forward endpoints), token files and the log, and at most
// Ceiling. An unknown limit (0) gives Ceiling.
func DefaultMax(fileLimit uint64) int {
	if fileLimit == 0 || fileLimit/2 > Ceiling {
		return Ceiling
	}
	return max(int(fileLimit/2), 1)
}
