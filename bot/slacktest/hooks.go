package slacktest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// Limits of a response_url (docs: interactivity/handling#message_responses).
const (
	maxHookUses = 5
	hookTTL     = 30 * time.Minute
)

// hook is one issued response_url.
type hook struct {
	origin
	issued   time.Time
	uses     int
	sourceTS string
}

// newHook issues a response_url for a payload from user in channel; sourceTS is the
// message an interaction came from ("" for slash commands). s.mu must be held.
func (s *Server) newHook(o origin, sourceTS string) string {
	id := s.nextID("H") + randomHex(6)
	s.hooks[id] = &hook{origin: o, issued: s.cfg.now(), sourceTS: sourceTS}
	return s.srv.URL + "/hooks/" + id
}

func (s *Server) serveHook(w http.ResponseWriter, r *http.Request) {
	var resp response
	derr := json.NewDecoder(r.Body).Decode(&resp)

	s.mu.Lock()
	status, code := http.StatusBadRequest, "invalid_payload"
	if derr == nil {
		status, code = s.useHook(s.hooks[r.PathValue("id")], resp)
	}
	s.calls = append(s.calls, Call{Method: "response_url", Time: s.cfg.now(), Error: code,
		Args: map[string]string{
			"text": resp.Text, "blocks": string(resp.Blocks), "thread_ts": resp.ThreadTS,
			"response_type":    resp.ResponseType,
			"replace_original": strconv.FormatBool(resp.ReplaceOriginal),
			"delete_original":  strconv.FormatBool(resp.DeleteOriginal),
		}})
	s.notify()
	s.mu.Unlock()

	body := map[string]any{"ok": code == ""}
	if code != "" {
		body["error"] = code
	}
	writeJSON(w, status, body)
}

// useHook applies one response_url post; s.mu must be held.
// TODO: the status and error codes for a used or expired URL are not documented by
// Slack; 404 with used_url / expired_url is a guess.
func (s *Server) useHook(h *hook, r response) (int, string) {
	switch {
	case h == nil:
		return http.StatusNotFound, "no_such_url"
	case h.uses >= maxHookUses:
		return http.StatusNotFound, "used_url"
	case s.cfg.now().Sub(h.issued) > hookTTL:
		return http.StatusNotFound, "expired_url"
	}
	h.uses++
	src := s.findMessage(h.channel, h.sourceTS)
	if src == nil {
		src = s.findEphemeral(h.channel, h.sourceTS)
	}
	switch {
	case r.DeleteOriginal && src == nil, r.ReplaceOriginal && src == nil && h.sourceTS != "":
		return http.StatusNotFound, "message_not_found"
	case r.DeleteOriginal:
		s.deleteMessage(src)
	case r.ReplaceOriginal && src != nil:
		src.Text, src.Blocks = r.Text, nil
		if r.hasBlocks() {
			src.Blocks = r.Blocks
		}
		src.Updated++
		s.notify()
	default:
		s.store(s.responseMessage(h.origin, r))
	}
	return http.StatusOK, ""
}
