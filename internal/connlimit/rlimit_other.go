//go:build !linux

package connlimit

import "errors"

// RaiseFileLimit is only implemented on Linux, the server's platform;
// elsewhere the default cap is Ceiling.
func RaiseFileLimit() (soft, hard uint64, err error) {
	return 0, 0, errors.New("the open-file limit is only read on Linux")
}
