package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"wxoa/wechat"
	"wxoa/wechat/wechattest"
)

// A sim script replays a conversation and checks each reply:
//
//	# a comment; blank lines are ignored
//	> hello              send, with the same syntax as the interactive prompt
//	< text: hello        the reply, as printed without the arrow, must contain this
//	<! news              ... and must not contain this
//	< success            no reply at all ("success" or an empty body)
//
// Each ">" line starts a step; the "<" lines under it all apply to its
// reply. A step without expectations only has to get a valid answer.

// scriptStep is one message to send and what its reply must look like.
type scriptStep struct {
	Line   int    // line of the ">"
	Input  string // the text after "> "
	Cmd    simCommand
	Expect []expectation
}

type expectation struct {
	Line    int
	Text    string
	Not     bool // "<!": must not contain Text
	Success bool // "< success": no reply
}

// ScriptError is a step that did not go as the script says.
type ScriptError struct {
	File string
	Line int // of the failed expectation, or of the step
	Step int // 1-based
	In   string
	Err  error
}

func (e *ScriptError) Error() string {
	return fmt.Sprintf("%s:%d: step %d (> %s): %v", e.File, e.Line, e.Step, e.In, e.Err)
}

func (e *ScriptError) Unwrap() error { return e.Err }

// parseScript reads a script, checking every line before anything is sent
// so a typo at the end does not surface halfway through a conversation.
func ParseScript(name, src string) ([]scriptStep, error) {
	var steps []scriptStep
	var errs []error
	for i, raw := range strings.Split(src, "\n") {
		n := i + 1
		line := strings.TrimSpace(raw)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, ">"):
			in := strings.TrimSpace(line[1:])
			cmd, err := parseSimLine(in)
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("%s:%d: %w", name, n, err))
			case cmd.Kind == simShowHelp || cmd.Kind == simQuit:
				errs = append(errs, fmt.Errorf("%s:%d: %q is for the interactive prompt, not for scripts", name, n, in))
			case cmd.Kind == simRetry && len(steps) == 0:
				errs = append(errs, fmt.Errorf("%s:%d: /retry before any message", name, n))
			}
			steps = append(steps, scriptStep{Line: n, Input: in, Cmd: cmd})
		case strings.HasPrefix(line, "<"):
			if len(steps) == 0 {
				errs = append(errs, fmt.Errorf("%s:%d: expectation before the first \"> message\"", name, n))
				continue
			}
			ex := expectation{Line: n}
			rest := line[1:]
			if strings.HasPrefix(rest, "!") {
				ex.Not, rest = true, rest[1:]
			}
			ex.Text = strings.TrimSpace(rest)
			ex.Success = !ex.Not && ex.Text == "success"
			if ex.Text == "" {
				errs = append(errs, fmt.Errorf("%s:%d: empty expectation", name, n))
			}
			s := &steps[len(steps)-1]
			s.Expect = append(s.Expect, ex)
		default:
			errs = append(errs, fmt.Errorf("%s:%d: want \"> message\", \"< expected\", \"<! unexpected\" or \"# comment\", got %q", name, n, line))
		}
	}
	if len(steps) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("%s: no \"> message\" lines", name))
	}
	return steps, errors.Join(errs...)
}

// check returns nil when r meets every expectation of the step, or the
// first one it misses with its line.
func (s scriptStep) check(r wechat.Reply) (int, error) {
	text := ReplyText(r)
	for _, ex := range s.Expect {
		switch {
		case ex.Success && r != nil:
			return ex.Line, fmt.Errorf("want no reply (success), got %s", text)
		case ex.Success:
		case ex.Not && strings.Contains(text, ex.Text):
			return ex.Line, fmt.Errorf("reply %q contains %q", text, ex.Text)
		case !ex.Not && !strings.Contains(text, ex.Text):
			return ex.Line, fmt.Errorf("reply %q does not contain %q", text, ex.Text)
		}
	}
	return 0, nil
}

// runScript plays steps through u, printing each exchange to out, and stops
// at the first step that fails (an HTTP error is a failure too).
func RunScript(ctx context.Context, u *wechattest.Follower, name string, steps []scriptStep, out io.Writer, prefix string) error {
	for i, s := range steps {
		fmt.Fprintf(out, "%s> %s\n", prefix, s.Input)
		var res wechattest.Result
		var err error
		if s.Cmd.Kind == simRetry {
			res, err = u.Retry(ctx)
		} else {
			res, err = u.Send(ctx, s.Cmd.Msg)
		}
		if err != nil {
			fmt.Fprintf(out, "%s✗ %v\n", prefix, err)
			return &ScriptError{File: name, Line: s.Line, Step: i + 1, In: s.Input, Err: err}
		}
		fmt.Fprintf(out, "%s%s\n", prefix, Indent(Show(res.Reply), prefix+"  "))
		if line, err := s.check(res.Reply); err != nil {
			fmt.Fprintf(out, "%s✗ line %d: %v\n", prefix, line, err)
			return &ScriptError{File: name, Line: line, Step: i + 1, In: s.Input, Err: err}
		}
	}
	fmt.Fprintf(out, "%s✓ %s: %d steps passed\n", prefix, name, len(steps))
	return nil
}
