package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/joho/godotenv"
)

// readDotenv returns the variables in path and whether it exists (an
// empty map when it does not). godotenv.Read leaves the process environment
// alone, unlike Load.
func readDotenv(path string) (map[string]string, bool, error) {
	m, err := godotenv.Read(path)
	if err == nil {
		return m, true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, false, nil
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return nil, false, fmt.Errorf("read %s: %w", path, err)
	}
	return nil, false, fmt.Errorf("read %s: %s", path, parseProblem(path, err))
}

// parseProblem restates a godotenv parse error without the file content it
// quotes, which may hold secrets, and with a line number instead.
func parseProblem(path string, err error) string {
	content, rerr := os.ReadFile(path)
	if rerr != nil {
		return "malformed (content not shown)"
	}
	// godotenv parses with CRLF already folded, so offsets refer to this.
	src := string(bytes.ReplaceAll(content, []byte("\r\n"), []byte("\n")))
	msg := err.Error()

	const nearMark = " in variable name near "
	if strings.HasPrefix(msg, "unexpected character ") {
		if i := strings.Index(msg, nearMark); i >= 0 {
			char := strings.TrimPrefix(msg[:i], "unexpected character ")
			// The "near" text is the rest of the file from the bad statement.
			if rest, uerr := strconv.Unquote(msg[i+len(nearMark):]); uerr == nil && strings.HasSuffix(src, rest) {
				return fmt.Sprintf("line %d: unexpected character %s in a variable name (content not shown)",
					lineAt(src, len(src)-len(rest)), char)
			}
		}
		return "unexpected character in a variable name (content not shown)"
	}
	const unterminated = "unterminated quoted value "
	if strings.HasPrefix(msg, unterminated) {
		// The quoted text runs to the end of the file, so its start is the
		// last place where its first line appears.
		if first := strings.TrimPrefix(msg, unterminated); first != "" {
			if at := strings.LastIndex(src, first); at >= 0 {
				return fmt.Sprintf("line %d: unterminated quoted value (content not shown)", lineAt(src, at))
			}
		}
		return "unterminated quoted value (content not shown)"
	}
	return "malformed (content not shown)"
}

func lineAt(src string, offset int) int { return strings.Count(src[:offset], "\n") + 1 }
