package slacktest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// verificationToken is the deprecated token field Slack still puts in payloads.
const verificationToken = "fake-verification-token"

func newEnvelopeID() string { return uuid.NewString() }

// envelopeFor wraps payload in a new envelope; Slack sets accepts_response_payload
// for slash commands and interactions only.
func envelopeFor(typ string, payload map[string]any) envelope {
	raw, err := json.Marshal(payload)
	if err != nil {
		panic(fmt.Sprintf("slacktest: marshal %s payload: %v", typ, err))
	}
	return envelope{EnvelopeID: newEnvelopeID(), Type: typ, Payload: raw,
		AcceptsResponsePayload: typ != "events_api"}
}

func teamJSON() map[string]any { return map[string]any{"id": TeamID, "domain": TeamName} }

// userRef is the user object of interaction payloads; s.mu must be held.
func (s *Server) userRef(id string) map[string]any {
	name := s.users[id].Name
	return map[string]any{"id": id, "username": name, "name": name, "team_id": TeamID}
}

// channelRef is the channel object of interaction payloads; s.mu must be held.
func (s *Server) channelRef(id string) map[string]any {
	name := ""
	if ch, found := s.channels[id]; found {
		name = ch.Name
	}
	return map[string]any{"id": id, "name": name}
}

// SlashCommand pushes a "/jenkins-tokens <text>" slash_commands envelope from user in
// channel, with a fresh trigger_id and response_url, and returns its envelope id. A
// text or blocks payload in the bot's ack is stored as the command response,
// ephemeral to user unless response_type is in_channel.
func (s *Server) SlashCommand(user, channel, text string, opts ...PushOption) string {
	s.mu.Lock()
	payload := map[string]any{
		"token": verificationToken, "team_id": TeamID, "team_domain": TeamName,
		"channel_id": channel, "channel_name": s.channelRef(channel)["name"],
		"user_id": user, "user_name": s.users[user].Name, "command": Command,
		"text": text, "api_app_id": AppID, "is_enterprise_install": "false",
		"response_url": s.newHook(origin{user, channel}, ""),
		"trigger_id":   s.newTrigger(),
	}
	p := &pending{env: envelopeFor("slash_commands", payload), slash: &origin{user, channel}}
	s.mu.Unlock()
	return s.push(p, pushOptions(opts).socket)
}

// Click pushes a block_actions envelope for user clicking the button with actionID in
// the stored version of msg (channel or ephemeral message), with the button's real
// block_id and value. It reports a test error and returns "" when the message or the
// button does not exist.
func (s *Server) Click(user string, msg Message, actionID string, opts ...PushOption) string {
	s.mu.Lock()
	stored := s.lookup(msg)
	if stored == nil {
		s.mu.Unlock()
		s.tb.Errorf("slacktest: Click: no message %s in %s", msg.TS, msg.Channel)
		return ""
	}
	b, found := findButton(stored.Blocks, actionID)
	if !found {
		s.mu.Unlock()
		s.tb.Errorf("slacktest: Click: no button %q in message %s:\n%s",
			actionID, msg.TS, stored.PlainText())
		return ""
	}
	payload := s.blockActionPayload(user, stored.Channel, stored.TS, stored, b)
	s.mu.Unlock()
	return s.push(&pending{env: envelopeFor("interactive", payload)}, pushOptions(opts).socket)
}

// BlockAction pushes a block_actions envelope with arbitrary ids and value, for
// forged or stale clicks. The message at channel/ts is included when it exists.
func (s *Server) BlockAction(user, channel, ts, actionID, blockID, value string,
	opts ...PushOption,
) string {
	s.mu.Lock()
	stored := s.lookup(Message{Channel: channel, TS: ts})
	b := button{blockID: blockID, actionID: actionID, value: value, text: actionID}
	payload := s.blockActionPayload(user, channel, ts, stored, b)
	s.mu.Unlock()
	return s.push(&pending{env: envelopeFor("interactive", payload)}, pushOptions(opts).socket)
}

// lookup returns the stored channel or ephemeral message; s.mu must be held.
func (s *Server) lookup(m Message) *Message {
	if found := s.findMessage(m.Channel, m.TS); found != nil {
		return found
	}
	return s.findEphemeral(m.Channel, m.TS)
}

// blockActionPayload builds a block_actions payload; msg may be nil. s.mu must be held.
func (s *Server) blockActionPayload(user, channel, ts string, msg *Message,
	b button,
) map[string]any {
	container := map[string]any{"type": "message", "message_ts": ts, "channel_id": channel,
		"is_ephemeral": msg != nil && msg.EphemeralTo != "", "is_app_unfurl": false}
	message := map[string]any{"type": "message", "ts": ts}
	if msg != nil {
		message = messageJSON(msg)
		if msg.ThreadTS != "" {
			container["thread_ts"] = msg.ThreadTS
		}
	}
	action := map[string]any{
		"action_id": b.actionID, "block_id": b.blockID, "value": b.value, "type": "button",
		"text":      map[string]any{"type": "plain_text", "text": b.text, "emoji": true},
		"action_ts": s.nextTS(),
	}
	return map[string]any{
		"type": "block_actions", "team": teamJSON(), "user": s.userRef(user),
		"api_app_id": AppID, "token": verificationToken, "trigger_id": s.newTrigger(),
		"container": container, "channel": s.channelRef(channel), "message": message,
		"state":        map[string]any{"values": map[string]any{}},
		"response_url": s.newHook(origin{user, channel}, ts),
		"actions":      []any{action},
	}
}

// MessageShortcut pushes a message_action envelope for user running the shortcut
// callbackID on msg (the stored version when it exists).
func (s *Server) MessageShortcut(user string, msg Message, callbackID string,
	opts ...PushOption,
) string {
	s.mu.Lock()
	message := messageJSON(&msg)
	if stored := s.lookup(msg); stored != nil {
		message = messageJSON(stored)
	}
	payload := map[string]any{
		"type": "message_action", "callback_id": callbackID, "token": verificationToken,
		"trigger_id": s.newTrigger(), "action_ts": s.nextTS(), "team": teamJSON(),
		"response_url": s.newHook(origin{user, msg.Channel}, msg.TS),
		"channel":      s.channelRef(msg.Channel), "user": s.userRef(user),
		"message": message,
	}
	s.mu.Unlock()
	return s.push(&pending{env: envelopeFor("interactive", payload)}, pushOptions(opts).socket)
}

// ViewSubmission pushes a view_submission envelope for a view the bot opened with
// views.open, carrying its callback_id and private_metadata. values maps block_id to
// action_id to the typed text (sent as plain_text_input values). It reports a test
// error and returns "" for an unknown view id.
func (s *Server) ViewSubmission(user, viewID string, values map[string]map[string]string,
	opts ...PushOption,
) string {
	s.mu.Lock()
	v, found := s.views[viewID]
	if !found {
		s.mu.Unlock()
		s.tb.Errorf("slacktest: ViewSubmission: unknown view %q", viewID)
		return ""
	}
	state := map[string]any{}
	for blockID, actions := range values {
		inputs := map[string]any{}
		for actionID, value := range actions {
			inputs[actionID] = map[string]any{"type": "plain_text_input", "value": value}
		}
		state[blockID] = inputs
	}
	body := viewJSON(v)
	body["state"] = map[string]any{"values": state}
	payload := map[string]any{
		"type": "view_submission", "team": teamJSON(), "user": s.userRef(user),
		"api_app_id": AppID, "token": verificationToken, "trigger_id": s.newTrigger(),
		"view": body,
	}
	s.mu.Unlock()
	return s.push(&pending{env: envelopeFor("interactive", payload)}, pushOptions(opts).socket)
}

// Views returns the ids of the views the bot opened, in opening order.
func (s *Server) Views() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.views))
	for id := range s.views {
		ids = append(ids, id)
	}
	// View ids are V followed by a zero-padded counter, so they sort by age.
	slices.Sort(ids)
	return ids
}

// AppMention stores a message from user in channel (a reply when threadTS is set)
// and pushes its app_mention event. "<@UBOT> " is prepended to text unless it
// already mentions the bot. It returns the envelope id.
func (s *Server) AppMention(user, channel, text, threadTS string, opts ...PushOption) string {
	if !strings.Contains(text, "<@"+BotUserID+">") {
		text = "<@" + BotUserID + "> " + text
	}
	return s.userMessage("app_mention", user, channel, text, threadTS, pushOptions(opts))
}

// MessageEvent stores a message from user in channel (a reply when threadTS is set) and
// pushes its message event, with channel_type from the channel. FromBot, WithSubtype
// and Edited change the event. It returns the envelope id.
func (s *Server) MessageEvent(user, channel, text, threadTS string,
	opts ...PushOption,
) string {
	return s.userMessage("message", user, channel, text, threadTS, pushOptions(opts))
}

func (s *Server) userMessage(typ, user, channel, text, threadTS string,
	cfg pushConfig,
) string {
	s.mu.Lock()
	m := s.store(Message{Channel: channel, ThreadTS: threadTS, Text: text, User: user,
		BotID: cfg.botID})
	event := map[string]any{"type": typ, "user": user, "text": text, "ts": m.TS,
		"channel": channel, "event_ts": m.TS, "team": TeamID}
	if threadTS != "" {
		event["thread_ts"] = threadTS
	}
	if typ == "message" {
		event["channel_type"] = s.channelType(channel)
		addIf(event, "subtype", cfg.subtype)
		addIf(event, "bot_id", cfg.botID)
	}
	if cfg.edited {
		event["edited"] = map[string]any{"user": user, "ts": s.nextTS()}
	}
	payload := s.eventCallback(event)
	s.mu.Unlock()
	return s.push(&pending{env: envelopeFor("events_api", payload)}, cfg.socket)
}

func addIf(m map[string]any, key, value string) {
	if value != "" {
		m[key] = value
	}
}

// channelType is the message event's channel_type; s.mu must be held.
func (s *Server) channelType(id string) string {
	switch {
	case strings.HasPrefix(id, "D"):
		return "im"
	case s.channels[id] != nil && s.channels[id].Private:
		return "group"
	}
	return "channel"
}

// TODO: the bot's own posts are not echoed back as message events (bot_message);
// tests that need the echo push it with MessageEvent and FromBot.

// UserChange pushes a user_change event with the user as currently stored (see
// AddUser and SetUserDeleted) and returns the envelope id.
func (s *Server) UserChange(user string, opts ...PushOption) string {
	s.mu.Lock()
	u, found := s.users[user]
	if !found {
		s.mu.Unlock()
		s.tb.Errorf("slacktest: UserChange: unknown user %q", user)
		return ""
	}
	ts := s.nextTS()
	event := map[string]any{"type": "user_change", "user": userJSON(u),
		"cache_ts": s.cfg.now().Unix(), "event_ts": ts}
	payload := s.eventCallback(event)
	s.mu.Unlock()
	return s.push(&pending{env: envelopeFor("events_api", payload)}, pushOptions(opts).socket)
}

// eventCallback wraps an inner event as Slack's Events API does; s.mu must be held.
func (s *Server) eventCallback(event map[string]any) map[string]any {
	return map[string]any{
		"token": verificationToken, "team_id": TeamID, "api_app_id": AppID,
		"type": "event_callback", "event": event, "event_id": s.nextID("Ev0FAKE"),
		"event_time": s.cfg.now().Unix(), "event_context": "4-" + randomHex(12),
		"authorizations": []any{map[string]any{
			"enterprise_id": nil, "team_id": TeamID, "user_id": BotUserID,
			"is_bot": true, "is_enterprise_install": false,
		}},
		"is_ext_shared_channel": false, "context_team_id": TeamID,
	}
}
