package slacktest

import (
	"encoding/json"
	"time"
)

type trigger struct {
	issued time.Time
	used   bool
}

// view is a modal opened by the bot.
type view struct {
	id, callbackID, privateMetadata, hash string
	body                                  map[string]any
}

// useTrigger checks and consumes a trigger_id; s.mu must be held.
func (s *Server) useTrigger(id string) string {
	t, found := s.triggers[id]
	switch {
	case !found:
		return "invalid_trigger_id"
	case t.used:
		return "exchanged_trigger_id"
	case s.cfg.now().Sub(t.issued) > triggerTTL:
		return "expired_trigger_id"
	}
	t.used = true
	return ""
}

func (s *Server) viewsOpen(args map[string]string) result {
	if code := s.useTrigger(args["trigger_id"]); code != "" {
		return fail(code)
	}
	body, res := parseView(args["view"])
	if res.err != "" {
		return res
	}
	v := &view{id: s.nextID("V"), body: body}
	s.fillView(v)
	s.views[v.id] = v
	return ok(map[string]any{"view": viewJSON(v)})
}

func (s *Server) viewsUpdate(args map[string]string) result {
	var v *view
	for _, cand := range s.views {
		if cand.id == args["view_id"] ||
			(args["external_id"] != "" && cand.body["external_id"] == args["external_id"]) {
			v = cand
		}
	}
	if v == nil {
		return fail("not_found")
	}
	if h := args["hash"]; h != "" && h != v.hash {
		return fail("hash_conflict")
	}
	body, res := parseView(args["view"])
	if res.err != "" {
		return res
	}
	v.body = body
	s.fillView(v)
	return ok(map[string]any{"view": viewJSON(v)})
}

// parseView decodes and validates a view argument.
func parseView(raw string) (map[string]any, result) {
	var body map[string]any
	if err := json.Unmarshal([]byte(raw), &body); err != nil {
		return nil, fail("invalid_arguments")
	}
	blocks, _ := json.Marshal(body["blocks"])
	if body["blocks"] == nil {
		blocks = []byte("[]")
	}
	if err := validateBlocks(string(blocks), maxViewBlocks); err != nil {
		return nil, invalidBlocks(err)
	}
	return body, result{}
}

// fillView copies routing fields out of v.body and issues a new hash.
func (s *Server) fillView(v *view) {
	v.callbackID, _ = v.body["callback_id"].(string)
	v.privateMetadata, _ = v.body["private_metadata"].(string)
	v.hash = s.nextID("h") + "." + randomHex(4)
}

func viewJSON(v *view) map[string]any {
	out := map[string]any{}
	for k, val := range v.body {
		out[k] = val
	}
	out["id"], out["team_id"], out["app_id"] = v.id, TeamID, AppID
	out["root_view_id"], out["hash"] = v.id, v.hash
	out["callback_id"], out["private_metadata"] = v.callbackID, v.privateMetadata
	out["state"] = map[string]any{"values": map[string]any{}}
	if out["type"] == nil {
		out["type"] = "modal"
	}
	return out
}
