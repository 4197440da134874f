package slacktest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
)

// triggerTTL is how long a trigger_id can open a view.
const triggerTTL = 3 * time.Second

// maxMessageText is where Slack truncates message text.
const maxMessageText = 40000

// result is a handler's answer: extra body fields and an error code ("" = ok).
type result struct {
	fields map[string]any
	err    string
}

func ok(fields map[string]any) result { return result{fields: fields} }

func fail(code string) result { return result{err: code} }

type handler func(s *Server, args map[string]string) result

// handlers are the bot-token Web API methods; they run with s.mu held.
var handlers = map[string]handler{
	"auth.test":             (*Server).authTest,
	"chat.postMessage":      (*Server).postMessage,
	"chat.update":           (*Server).updateMessage,
	"chat.postEphemeral":    (*Server).postEphemeral,
	"chat.getPermalink":     (*Server).getPermalink,
	"views.open":            (*Server).viewsOpen,
	"views.update":          (*Server).viewsUpdate,
	"users.info":            (*Server).usersInfo,
	"users.lookupByEmail":   (*Server).lookupByEmail,
	"usergroups.users.list": (*Server).groupMembers,
	"conversations.members": (*Server).conversationMembers,
	"conversations.replies": (*Server).conversationReplies,
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	args, token, err := parseRequest(r)

	s.mu.Lock()
	call := Call{Method: method, Args: args, Time: s.cfg.now()}
	status, res := s.answer(method, token, args, err)
	call.Error = res.err
	s.calls = append(s.calls, call)
	s.notify()
	s.mu.Unlock()

	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	body := map[string]any{"ok": res.err == ""}
	for k, v := range res.fields {
		body[k] = v
	}
	if res.err != "" {
		body["error"] = res.err
	}
	writeJSON(w, status, body)
}

// answer decides the reply to one call; s.mu must be held.
func (s *Server) answer(method, token string, args map[string]string, perr error) (int, result) {
	h, known := handlers[method]
	if !known && method != "apps.connections.open" {
		s.problemf("call to unknown Web API method %s", method)
		return http.StatusOK, fail("unknown_method")
	}
	if n := s.limits[method]; n > 0 {
		s.limits[method] = n - 1
		return http.StatusTooManyRequests, fail("ratelimited")
	}
	if perr != nil {
		return http.StatusOK, fail("invalid_arguments")
	}
	if method == "apps.connections.open" {
		return http.StatusOK, s.connectionsOpen(token)
	}
	if code := s.checkBotToken(token); code != "" {
		return http.StatusOK, fail(code)
	}
	return http.StatusOK, h(s, args)
}

func (s *Server) checkBotToken(token string) string {
	switch token {
	case s.botToken:
		return ""
	case s.appToken:
		return "not_allowed_token_type"
	case "":
		return "not_authed"
	}
	return "invalid_auth"
}

// parseRequest reads a form or JSON body. The token comes from the Authorization
// header (Bearer) or else the form field "token", which is not kept in args.
func parseRequest(r *http.Request) (map[string]string, string, error) {
	bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	args := map[string]string{}
	if ct == "application/json" {
		if err := parseJSONArgs(r, args); err != nil {
			return args, bearer, err
		}
	} else {
		if err := r.ParseForm(); err != nil {
			return args, bearer, fmt.Errorf("parse form: %w", err)
		}
		for k := range r.PostForm {
			args[k] = r.PostForm.Get(k)
		}
	}
	token := args["token"]
	delete(args, "token")
	if bearer != "" {
		token = bearer
	}
	return args, token, nil
}

func parseJSONArgs(r *http.Request, args map[string]string) error {
	var body map[string]json.RawMessage
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&body); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return fmt.Errorf("parse json body: %w", err)
	}
	for k, v := range body {
		var str string
		if json.Unmarshal(v, &str) == nil {
			args[k] = str
		} else {
			args[k] = string(v)
		}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// connectionsOpen answers apps.connections.open, which needs the app token as Bearer.
// TODO: tickets are not single use and there is no knob for internal_error or HTTP
// 500 answers; RateLimit covers the retry path slack-go shares with them.
func (s *Server) connectionsOpen(bearer string) result {
	switch bearer {
	case s.appToken:
	case s.botToken:
		return fail("not_allowed_token_type")
	default:
		return fail("invalid_auth")
	}
	s.opens++
	host := strings.TrimPrefix(s.srv.URL, "http://")
	url := fmt.Sprintf("ws://%s/link/?ticket=%d&app_id=%s", host, s.opens, AppID)
	return ok(map[string]any{"url": url})
}

func (s *Server) authTest(map[string]string) result {
	return ok(map[string]any{
		"url": "https://fake.slack.com/", "team": "Fake", "user": "jenkins-tokens",
		"team_id": TeamID, "user_id": BotUserID, "bot_id": BotID,
	})
}

// channelFor returns the channel if the bot may post there; s.mu must be held.
// TODO: posting to a user id (a DM, which Slack opens implicitly) is not supported;
// the bot does not DM yet.
func (s *Server) channelFor(id string) (*Channel, string) {
	ch, found := s.channels[id]
	if !found {
		return nil, "channel_not_found"
	}
	if !isMember(ch, BotUserID) {
		return nil, "not_in_channel"
	}
	return ch, ""
}

func isMember(ch *Channel, user string) bool {
	for _, m := range ch.Members {
		if m == user {
			return true
		}
	}
	return false
}

// checkContent validates text and blocks as chat.postMessage does.
func checkContent(args map[string]string, maxBlocks int) result {
	blocks := strings.TrimSpace(args["blocks"])
	if blocks == "" || blocks == "null" || blocks == "[]" {
		if args["text"] == "" {
			return fail("no_text")
		}
		return result{}
	}
	if err := validateBlocks(blocks, maxBlocks); err != nil {
		return invalidBlocks(err)
	}
	return result{}
}

// invalidBlocks answers invalid_blocks with the reason in "errors", as Slack does.
func invalidBlocks(err error) result {
	return result{err: "invalid_blocks", fields: map[string]any{"errors": []string{err.Error()}}}
}

func (s *Server) postMessage(args map[string]string) result {
	ch, code := s.channelFor(args["channel"])
	if code != "" {
		return fail(code)
	}
	if res := checkContent(args, maxMessageBlocks); res.err != "" {
		return res
	}
	text, truncated := truncate(args["text"])
	m := Message{Channel: ch.ID, ThreadTS: args["thread_ts"], Text: text,
		Blocks: s.blocksArg(args), User: BotUserID, BotID: BotID}
	if m.ThreadTS != "" && s.findMessage(ch.ID, m.ThreadTS) == nil {
		s.problemf("chat.postMessage: thread_ts %s not found in %s", m.ThreadTS, ch.ID)
	}
	stored := s.store(m)
	fields := map[string]any{"channel": ch.ID, "ts": stored.TS, "message": messageJSON(stored)}
	if truncated {
		fields["response_metadata"] = map[string]any{"warnings": []string{"message_truncated"}}
	}
	return ok(fields)
}

func truncate(text string) (string, bool) {
	r := []rune(text)
	if len(r) <= maxMessageText {
		return text, false
	}
	return string(r[:maxMessageText]), true
}

// blocksArg returns the blocks argument with block_ids filled in, or nil.
func (s *Server) blocksArg(args map[string]string) json.RawMessage {
	b := strings.TrimSpace(args["blocks"])
	if b == "" || b == "null" || b == "[]" {
		return nil
	}
	return fillBlockIDs(json.RawMessage(b), func() string { return s.nextID("b") })
}

func messageJSON(m *Message) map[string]any {
	out := map[string]any{"type": "message", "text": m.Text, "ts": m.TS}
	if m.User != "" {
		out["user"] = m.User
	}
	if m.BotID != "" {
		out["bot_id"] = m.BotID
	}
	if m.ThreadTS != "" {
		out["thread_ts"] = m.ThreadTS
	}
	if len(m.Blocks) > 0 {
		out["blocks"] = m.Blocks
	}
	return out
}

func (s *Server) updateMessage(args map[string]string) result {
	chID, ts := args["channel"], args["ts"]
	if _, found := s.channels[chID]; !found {
		return fail("channel_not_found")
	}
	m := s.findMessage(chID, ts)
	switch {
	case m == nil && s.findEphemeral(chID, ts) != nil:
		return fail("cant_update_message")
	case m == nil:
		return fail("message_not_found")
	case m.BotID != BotID:
		return fail("cant_update_message")
	}
	if res := checkContent(args, maxMessageBlocks); res.err != "" {
		return res
	}
	m.Text, _ = truncate(args["text"])
	if _, has := args["blocks"]; has {
		m.Blocks = s.blocksArg(args)
	}
	m.Updated++
	s.notify()
	return ok(map[string]any{"channel": chID, "ts": ts, "text": m.Text,
		"message": messageJSON(m)})
}

func (s *Server) postEphemeral(args map[string]string) result {
	ch, code := s.channelFor(args["channel"])
	if code != "" {
		return fail(code)
	}
	if !isMember(ch, args["user"]) {
		return fail("user_not_in_channel")
	}
	if res := checkContent(args, maxMessageBlocks); res.err != "" {
		return res
	}
	m := s.store(Message{Channel: ch.ID, ThreadTS: args["thread_ts"], Text: args["text"],
		Blocks: s.blocksArg(args), User: BotUserID, BotID: BotID, EphemeralTo: args["user"]})
	return ok(map[string]any{"message_ts": m.TS})
}

func (s *Server) getPermalink(args map[string]string) result {
	chID, ts := args["channel"], args["message_ts"]
	if _, found := s.channels[chID]; !found {
		return fail("channel_not_found")
	}
	if s.findMessage(chID, ts) == nil {
		return fail("message_not_found")
	}
	link := "https://fake.slack.com/archives/" + chID + "/p" + strings.ReplaceAll(ts, ".", "")
	return ok(map[string]any{"channel": chID, "permalink": link})
}

func (s *Server) usersInfo(args map[string]string) result {
	u, found := s.users[args["user"]]
	if !found {
		return fail("user_not_found")
	}
	return ok(map[string]any{"user": userJSON(u)})
}

func (s *Server) lookupByEmail(args map[string]string) result {
	for _, u := range s.users {
		if u.Email != "" && strings.EqualFold(u.Email, args["email"]) {
			return ok(map[string]any{"user": userJSON(u)})
		}
	}
	return fail("users_not_found")
}

func userJSON(u User) map[string]any {
	profile := map[string]any{"real_name": u.RealName, "display_name": u.Name}
	if u.Email != "" {
		profile["email"] = u.Email
	}
	return map[string]any{
		"id": u.ID, "team_id": TeamID, "name": u.Name, "real_name": u.RealName,
		"deleted": u.Deleted, "is_bot": u.IsBot, "tz": "Europe/Berlin", "profile": profile,
	}
}

func (s *Server) groupMembers(args map[string]string) result {
	members, found := s.groups[args["usergroup"]]
	if !found {
		return fail("no_such_subteam")
	}
	return ok(map[string]any{"users": append([]string{}, members...)})
}

// conversationMembers pages with a cursor that is the decimal offset of the next page.
func (s *Server) conversationMembers(args map[string]string) result {
	ch, found := s.channels[args["channel"]]
	if !found {
		return fail("channel_not_found")
	}
	var start, limit int
	_, _ = fmt.Sscan(args["cursor"], &start)
	if _, err := fmt.Sscan(args["limit"], &limit); err != nil || limit <= 0 {
		limit = 100
	}
	start = min(max(start, 0), len(ch.Members))
	end := min(start+limit, len(ch.Members))
	next := ""
	if end < len(ch.Members) {
		next = fmt.Sprint(end)
	}
	return ok(map[string]any{
		"members":           append([]string{}, ch.Members[start:end]...),
		"response_metadata": map[string]any{"next_cursor": next},
	})
}

func (s *Server) conversationReplies(args map[string]string) result {
	chID, ts := args["channel"], args["ts"]
	if _, found := s.channels[chID]; !found {
		return fail("channel_not_found")
	}
	if s.findMessage(chID, ts) == nil {
		return fail("thread_not_found")
	}
	var msgs []map[string]any
	for _, m := range s.msgs[chID] {
		if m.TS == ts || m.ThreadTS == ts {
			msgs = append(msgs, messageJSON(m))
		}
	}
	return ok(map[string]any{"messages": msgs, "has_more": false})
}
