package slacktest

import (
	"encoding/json"
	"slices"
	"strings"
)

// Message is a message stored by the fake: posted by the bot (User BotUserID, BotID
// "BBOT"), by a test through AppMention/Message, or shown through a response_url
// or a slash command ack.
type Message struct {
	Channel  string
	TS       string
	ThreadTS string
	Text     string
	Blocks   json.RawMessage
	User     string
	BotID    string
	// EphemeralTo is the only user who sees the message; empty for channel messages.
	EphemeralTo string
	// Updated counts chat.update and replace_original edits.
	Updated int
}

// PlainText renders the message's blocks (or its text when it has none) as plain
// text, one block per line; buttons appear as "[label]".
func (m Message) PlainText() string {
	if len(m.Blocks) == 0 || string(m.Blocks) == "null" {
		return m.Text
	}
	return RenderBlocks(m.Blocks)
}

// RenderBlocks renders Block Kit JSON as plain text for readable test failures:
// headers and sections as their text, fields and context elements joined, buttons as
// "[label]", dividers as "---". Invalid JSON renders as the raw input.
func RenderBlocks(blocks json.RawMessage) string {
	var bs []block
	if err := json.Unmarshal(blocks, &bs); err != nil {
		return string(blocks)
	}
	lines := make([]string, 0, len(bs))
	for _, b := range bs {
		lines = append(lines, renderBlock(b))
	}
	return strings.Join(lines, "\n")
}

func renderBlock(b block) string {
	var parts []string
	if b.Text != nil {
		parts = append(parts, b.Text.Text)
	}
	for _, f := range b.Fields {
		parts = append(parts, f.Text)
	}
	if b.Accessory != nil {
		parts = append(parts, renderElement(*b.Accessory))
	}
	for _, raw := range b.Elements {
		parts = append(parts, renderRaw(raw))
	}
	if b.Type == "divider" {
		return "---"
	}
	return strings.Join(parts, " ")
}

func renderRaw(raw json.RawMessage) string {
	var t textObj
	if json.Unmarshal(raw, &t) == nil && t.Text != "" {
		return t.Text
	}
	var e element
	if json.Unmarshal(raw, &e) != nil {
		return ""
	}
	return renderElement(e)
}

func renderElement(e element) string {
	switch {
	case e.Type == "button" && e.Text != nil:
		return "[" + e.Text.Text + "]"
	case e.Text != nil:
		return e.Text.Text
	}
	return e.AltText
}

// Messages returns the channel's non-ephemeral messages, thread replies included, in
// ts order.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return copyMessages(s.msgs[channel], func(*Message) bool { return true })
}

// Message returns the channel message (not ephemeral) with this ts.
func (s *Server) Message(channel, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.findMessage(channel, ts); m != nil {
		return *m, true
	}
	return Message{}, false
}

// Thread returns the parent message with ts threadTS and its replies, in ts order.
func (s *Server) Thread(channel, threadTS string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return copyMessages(s.msgs[channel], func(m *Message) bool {
		return m.TS == threadTS || m.ThreadTS == threadTS
	})
}

// Ephemerals returns the ephemeral messages shown to user, in ts order.
func (s *Server) Ephemerals(user string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return copyMessages(s.ephem, func(m *Message) bool { return m.EphemeralTo == user })
}

// LastMessage returns the newest channel message posted by the bot in channel.
func (s *Server) LastMessage(channel string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	msgs := s.msgs[channel]
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].BotID == BotID {
			return *msgs[i], true
		}
	}
	return Message{}, false
}

func copyMessages(msgs []*Message, keep func(*Message) bool) []Message {
	var out []Message
	for _, m := range msgs {
		if keep(m) {
			out = append(out, *m)
		}
	}
	return out
}

// findMessage returns the stored channel message; s.mu must be held.
func (s *Server) findMessage(channel, ts string) *Message {
	for _, m := range s.msgs[channel] {
		if m.TS == ts {
			return m
		}
	}
	return nil
}

// findEphemeral returns the stored ephemeral message; s.mu must be held.
func (s *Server) findEphemeral(channel, ts string) *Message {
	for _, m := range s.ephem {
		if m.Channel == channel && m.TS == ts {
			return m
		}
	}
	return nil
}

// store adds m with a fresh ts and returns it; s.mu must be held.
func (s *Server) store(m Message) *Message {
	m.TS = s.nextTS()
	p := &m
	if m.EphemeralTo != "" {
		s.ephem = append(s.ephem, p)
	} else {
		s.msgs[m.Channel] = append(s.msgs[m.Channel], p)
	}
	s.notify()
	return p
}

// deleteMessage removes a channel or ephemeral message; s.mu must be held.
func (s *Server) deleteMessage(m *Message) {
	del := func(x *Message) bool { return x == m }
	s.msgs[m.Channel] = slices.DeleteFunc(s.msgs[m.Channel], del)
	s.ephem = slices.DeleteFunc(s.ephem, del)
	s.notify()
}

// response is a message body sent to a response_url or in a slash command ack.
type response struct {
	Text            string          `json:"text"`
	Blocks          json.RawMessage `json:"blocks"`
	ResponseType    string          `json:"response_type"`
	ThreadTS        string          `json:"thread_ts"`
	ReplaceOriginal bool            `json:"replace_original"`
	DeleteOriginal  bool            `json:"delete_original"`
}

func (r response) hasBlocks() bool {
	return len(r.Blocks) > 0 && string(r.Blocks) != "null" && string(r.Blocks) != "[]"
}

// storeResponse shows a slash command ack payload to the invoking user, ephemeral
// unless response_type is in_channel; s.mu must be held.
func (s *Server) storeResponse(o origin, payload json.RawMessage) {
	var r response
	if len(payload) == 0 || json.Unmarshal(payload, &r) != nil {
		return
	}
	if r.Text == "" && !r.hasBlocks() {
		return
	}
	s.store(s.responseMessage(o, r))
}

func (s *Server) responseMessage(o origin, r response) Message {
	m := Message{Channel: o.channel, ThreadTS: r.ThreadTS, Text: r.Text,
		User: BotUserID, BotID: BotID}
	if r.hasBlocks() {
		m.Blocks = r.Blocks
	}
	if r.ResponseType != "in_channel" {
		m.EphemeralTo = o.user
	}
	return m
}
