package sim

import (
	"fmt"
	"strconv"
	"strings"

	"wxoa/wechat/wechattest"
)

// simHelp lists what the simulator understands, interactively and in
// scripts.
const simHelp = `Type a line to send it as a text message, or a command:
  /subscribe [SCENE]   follow the account (through a QR code with SCENE)
  /unsubscribe         unfollow
  /click KEY           press a menu button of type click
  /view URL            press a menu button of type view
  /scan SCENE          scan a parametric QR code as a follower
  /location LAT LNG [LABEL]
                       share a location
  /image URL           send a picture
  /voice TEXT          send a voice message that WeChat recognised as TEXT
  /link TITLE URL      share a link
  /event NAME [KEY]    any other event
  /retry               send the last message again, as WeChat does when an
                       answer is lost (same MsgId and CreateTime)
  /help                this list
  /quit                leave (Ctrl-D works too)`

// simCommand is one parsed input line.
type simCommand struct {
	Kind simKind
	Msg  wechattest.Message // for simSend
}

type simKind int

const (
	simSend simKind = iota
	simRetry
	simShowHelp
	simQuit
)

// parseSimLine turns an input line into a command: plain text is a text
// message; a line starting with "/" is a command (write "//" to send text
// that starts with a slash).
func parseSimLine(line string) (simCommand, error) {
	line = strings.TrimSpace(line)
	if line == "" {
		return simCommand{}, fmt.Errorf("empty line: nothing to send")
	}
	if strings.HasPrefix(line, "//") || !strings.HasPrefix(line, "/") {
		text := strings.TrimPrefix(line, "/")
		return simCommand{Kind: simSend, Msg: wechattest.Text(text)}, nil
	}
	name, rest, _ := strings.Cut(line[1:], " ")
	rest = strings.TrimSpace(rest)
	args := strings.Fields(rest)
	event := func(ev string, fields ...[2]string) (simCommand, error) {
		return simCommand{Kind: simSend, Msg: wechattest.Event(ev, fields...)}, nil
	}
	msg := func(t string, fields ...[2]string) (simCommand, error) {
		return simCommand{Kind: simSend, Msg: wechattest.Message{MsgType: t, Fields: fields}}, nil
	}
	usage := func(u string) (simCommand, error) {
		return simCommand{}, fmt.Errorf("usage: /%s %s", name, u)
	}
	switch strings.ToLower(name) {
	case "help", "?":
		return simCommand{Kind: simShowHelp}, nil
	case "quit", "exit", "q":
		return simCommand{Kind: simQuit}, nil
	case "retry":
		return simCommand{Kind: simRetry}, nil
	case "subscribe":
		if len(args) > 1 {
			return usage("[SCENE]")
		}
		if len(args) == 0 {
			return event("subscribe", [2]string{"EventKey", ""})
		}
		return event("subscribe", [2]string{"EventKey", "qrscene_" + args[0]}, [2]string{"Ticket", simTicket})
	case "unsubscribe":
		return event("unsubscribe", [2]string{"EventKey", ""})
	case "click":
		if len(args) != 1 {
			return usage("KEY")
		}
		return event("CLICK", [2]string{"EventKey", args[0]})
	case "view":
		if len(args) != 1 {
			return usage("URL")
		}
		return event("VIEW", [2]string{"EventKey", args[0]})
	case "scan":
		if len(args) != 1 {
			return usage("SCENE")
		}
		return event("SCAN", [2]string{"EventKey", args[0]}, [2]string{"Ticket", simTicket})
	case "location":
		if len(args) < 2 {
			return usage("LAT LNG [LABEL]")
		}
		lat, err1 := strconv.ParseFloat(args[0], 64)
		lng, err2 := strconv.ParseFloat(args[1], 64)
		if err1 != nil || err2 != nil || lat < -90 || lat > 90 || lng < -180 || lng > 180 {
			return simCommand{}, fmt.Errorf("/location: %q %q is not a latitude and longitude, e.g. /location 39.9042 116.4074", args[0], args[1])
		}
		label := strings.Join(args[2:], " ")
		return msg("location", [2]string{"Location_X", args[0]}, [2]string{"Location_Y", args[1]},
			[2]string{"Scale", "15"}, [2]string{"Label", label})
	case "image":
		if len(args) != 1 {
			return usage("URL")
		}
		return msg("image", [2]string{"PicUrl", args[0]}, [2]string{"MediaId", simMediaID})
	case "voice":
		if rest == "" {
			return usage("TEXT")
		}
		return msg("voice", [2]string{"MediaId", simMediaID}, [2]string{"Format", "amr"}, [2]string{"Recognition", rest})
	case "link":
		if len(args) < 2 {
			return usage("TITLE URL")
		}
		title := strings.Join(args[:len(args)-1], " ")
		return msg("link", [2]string{"Title", title}, [2]string{"Description", title}, [2]string{"Url", args[len(args)-1]})
	case "event":
		if len(args) < 1 || len(args) > 2 {
			return usage("NAME [KEY]")
		}
		if len(args) == 1 {
			return event(args[0])
		}
		return event(args[0], [2]string{"EventKey", args[1]})
	}
	return simCommand{}, fmt.Errorf("unknown command /%s (try /help)", name)
}

// Placeholder values for fields a real client would fill with server-side
// ids: the server under test only passes them through.
const (
	simTicket  = "gQSimTicket000000000000000000"
	simMediaID = "sim_media_id_0000000000000000"
)
