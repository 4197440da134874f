package slacktest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// maxAckBytes is the frame size from which Slack silently drops a socket response.
const maxAckBytes = 20480

// disconnectGrace is how long a socket stays open after a disconnect frame unless
// the client closes it first.
const disconnectGrace = time.Second

// Ack is one frame the bot sent on a socket: an acknowledgement of an envelope.
type Ack struct {
	EnvelopeID string
	Payload    json.RawMessage
	Socket     int
	Time       time.Time
	Size       int
	// Late is set when the ack came after the ack deadline.
	Late bool
	// Dropped is set when Slack would have ignored the ack (≥ 20 480 bytes).
	Dropped bool
}

type socket struct {
	id   int
	conn *websocket.Conn
	done chan struct{}
	wmu  sync.Mutex
}

// write sends one text frame; writes to a socket are serialized by wmu.
func (so *socket) write(data []byte) error {
	so.wmu.Lock()
	defer so.wmu.Unlock()
	_ = so.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return so.conn.WriteMessage(websocket.TextMessage, data)
}

func (so *socket) ping() error {
	so.wmu.Lock()
	defer so.wmu.Unlock()
	return so.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(5*time.Second))
}

// envelope is a Socket Mode request as Slack sends it.
type envelope struct {
	EnvelopeID             string          `json:"envelope_id"`
	Type                   string          `json:"type"`
	Payload                json.RawMessage `json:"payload"`
	AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	RetryAttempt           int             `json:"retry_attempt"`
	RetryReason            string          `json:"retry_reason"`
}

// pending is the delivery state of one envelope.
type pending struct {
	env    envelope
	sentAt time.Time
	socket int
	acked  bool
	ack    json.RawMessage
	// slash is set for slash command envelopes, whose ack payload is shown to
	// the invoking user.
	slash *origin
}

type origin struct{ user, channel string }

func (s *Server) serveLink(w http.ResponseWriter, r *http.Request) {
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	so := &socket{conn: conn, done: make(chan struct{})}
	if !s.admit(so) {
		return
	}
	defer s.wg.Done()
	go s.pingLoop(so)
	s.readLoop(so)

	s.mu.Lock()
	delete(s.sockets, so.id)
	s.notify()
	s.mu.Unlock()
	close(so.done)
	conn.Close()
}

// admit registers so as open and sends hello, or refuses it (closed server, too
// many sockets). Pushes to so wait for hello because it is written under so.wmu. On
// success the caller owns one s.wg count; the ping loop owns the other.
func (s *Server) admit(so *socket) bool {
	s.mu.Lock()
	if s.closed || len(s.sockets) >= maxSockets {
		full := !s.closed
		s.mu.Unlock()
		if full {
			_ = so.write(frame("disconnect", "too_many_websockets", maxSockets))
		}
		so.conn.Close()
		return false
	}
	s.sockSeq++
	so.id = s.sockSeq
	s.sockets[so.id] = so
	hello := frame("hello", "", len(s.sockets))
	s.wg.Add(2)
	so.wmu.Lock()
	s.notify()
	s.mu.Unlock()

	_ = so.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := so.conn.WriteMessage(websocket.TextMessage, hello); err != nil {
		so.conn.Close() // the read loop fails and unregisters so
	}
	so.wmu.Unlock()
	return true
}

func frame(typ, reason string, n int) []byte {
	f := map[string]any{
		"type":            typ,
		"num_connections": n,
		"connection_info": map[string]string{"app_id": AppID},
		"debug_info": map[string]any{
			"host": "fake", "build_number": 1, "approximate_connection_time": 3600,
		},
	}
	if reason != "" {
		f["reason"] = reason
	}
	b, _ := json.Marshal(f)
	return b
}

// pingLoop sends WebSocket PINGs until the socket closes.
// TODO: no StopPings knob yet to simulate a half-open socket; Drop covers reconnects.
func (s *Server) pingLoop(so *socket) {
	defer s.wg.Done()
	tick := time.NewTicker(s.cfg.pingInterval)
	defer tick.Stop()
	for {
		select {
		case <-so.done:
			return
		case <-tick.C:
			if so.ping() != nil {
				return
			}
		}
	}
}

// readLoop records every text frame as an ack; gorilla answers client pings itself.
func (s *Server) readLoop(so *socket) {
	for {
		_, data, err := so.conn.ReadMessage()
		if err != nil {
			return
		}
		s.recordAck(so.id, data)
	}
}

func (s *Server) recordAck(socketID int, data []byte) {
	var in struct {
		EnvelopeID string          `json:"envelope_id"`
		Payload    json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(data, &in); err != nil {
		s.mu.Lock()
		s.problemf("socket %d: unparseable frame %.200q", socketID, data)
		s.mu.Unlock()
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := Ack{EnvelopeID: in.EnvelopeID, Payload: in.Payload, Socket: socketID,
		Time: s.cfg.now(), Size: len(data)}
	s.checkAck(&a)
	s.acks = append(s.acks, a)
	s.notify()
}

// checkAck flags a and marks its envelope acked; s.mu must be held.
func (s *Server) checkAck(a *Ack) {
	p, ok := s.envs[a.EnvelopeID]
	switch {
	case a.Size >= maxAckBytes:
		a.Dropped = true
		s.problemf("ack %s: %d bytes, Slack drops acks of %d bytes or more",
			a.EnvelopeID, a.Size, maxAckBytes)
	case !ok:
		s.problemf("ack for unknown envelope id %q", a.EnvelopeID)
	case p.acked:
		s.problemf("duplicate ack for envelope %s", a.EnvelopeID)
	default:
		p.acked, p.ack = true, a.Payload
		if d := a.Time.Sub(p.sentAt); d > s.cfg.ackDeadline {
			a.Late = true
			s.problemf("late ack for %s envelope %s after %v (deadline %v)",
				p.env.Type, a.EnvelopeID, d, s.cfg.ackDeadline)
		}
		if p.slash != nil {
			s.storeResponse(*p.slash, a.Payload)
		}
	}
}

// PushOption tunes one pushed envelope.
type PushOption func(*pushConfig)

type pushConfig struct {
	socket  int
	botID   string
	subtype string
	edited  bool
}

// ToSocket delivers the envelope on the socket with this id (see Sockets) instead of
// a random open one.
func ToSocket(id int) PushOption { return func(c *pushConfig) { c.socket = id } }

// FromBot makes a message event look posted by a bot: bot_id set and subtype
// "bot_message". Other builders ignore it.
func FromBot(botID string) PushOption {
	return func(c *pushConfig) { c.botID, c.subtype = botID, "bot_message" }
}

// WithSubtype sets the subtype of a message event. Other builders ignore it.
func WithSubtype(subtype string) PushOption {
	return func(c *pushConfig) { c.subtype = subtype }
}

// Edited adds an "edited" marker to a message or app_mention event.
func Edited() PushOption { return func(c *pushConfig) { c.edited = true } }

func pushOptions(opts []PushOption) pushConfig {
	var c pushConfig
	for _, o := range opts {
		o(&c)
	}
	return c
}

// push registers p and sends its envelope to a socket, waiting up to pushWait for
// one to be open. It returns the envelope id.
func (s *Server) push(p *pending, target int) string {
	var so *socket
	found := s.waitFor(pushWait, func() bool {
		so = s.pickSocket(target)
		return so != nil || s.closed
	})
	data, _ := json.Marshal(p.env)

	s.mu.Lock()
	p.sentAt = s.cfg.now()
	s.envs[p.env.EnvelopeID] = p
	if s.closed {
		s.mu.Unlock()
		return p.env.EnvelopeID
	}
	if !found || so == nil {
		s.problemf("push %s envelope %s: no open socket", p.env.Type, p.env.EnvelopeID)
		s.mu.Unlock()
		return p.env.EnvelopeID
	}
	p.socket = so.id
	s.mu.Unlock()

	if err := so.write(data); err != nil {
		s.mu.Lock()
		s.problemf("push envelope %s to socket %d: %v", p.env.EnvelopeID, so.id, err)
		s.mu.Unlock()
	}
	s.scheduleRedelivery(p)
	return p.env.EnvelopeID
}

// pickSocket returns socket target, or a random open one when target is 0; s.mu
// must be held.
func (s *Server) pickSocket(target int) *socket {
	if target != 0 {
		return s.sockets[target]
	}
	ids := s.openIDs()
	if len(ids) == 0 {
		return nil
	}
	return s.sockets[ids[rand.IntN(len(ids))]]
}

func (s *Server) openIDs() []int {
	ids := make([]int, 0, len(s.sockets))
	for id := range s.sockets {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (s *Server) openSockets() []*socket {
	var out []*socket
	for _, id := range s.openIDs() {
		out = append(out, s.sockets[id])
	}
	return out
}

func (s *Server) scheduleRedelivery(p *pending) {
	if s.cfg.redeliverAfter <= 0 || p.env.Type != "events_api" ||
		p.env.RetryAttempt >= s.cfg.redeliverMax {
		return
	}
	time.AfterFunc(s.cfg.redeliverAfter, func() {
		s.mu.Lock()
		skip := p.acked || s.closed
		s.mu.Unlock()
		if !skip {
			s.redeliver(p, 0)
		}
	})
}

// redeliver pushes p's payload again with a new envelope id and retry_attempt+1.
func (s *Server) redeliver(p *pending, target int) string {
	s.mu.Lock()
	env := p.env
	env.EnvelopeID = newEnvelopeID()
	if env.Type == "events_api" {
		env.RetryAttempt++
		env.RetryReason = "timeout"
	}
	next := &pending{env: env, slash: p.slash}
	s.mu.Unlock()
	return s.push(next, target)
}

// Redeliver resends the payload of a pushed envelope with a new envelope id (and, for
// events_api, retry_attempt+1 and retry_reason "timeout"), as Slack does after a
// missed ack. It returns the new envelope id, or "" and a test error for an unknown id.
func (s *Server) Redeliver(envelopeID string, opts ...PushOption) string {
	s.mu.Lock()
	p, ok := s.envs[envelopeID]
	s.mu.Unlock()
	if !ok {
		s.tb.Errorf("slacktest: Redeliver: unknown envelope id %q", envelopeID)
		return ""
	}
	return s.redeliver(p, pushOptions(opts).socket)
}

// WaitAck waits until the envelope is acked and returns the ack payload (nil for a
// bare ack). It fails for an unknown id or when timeout passes first.
func (s *Server) WaitAck(envelopeID string, timeout time.Duration) (json.RawMessage, error) {
	var p *pending
	ok := s.waitFor(timeout, func() bool {
		p = s.envs[envelopeID]
		return p == nil || p.acked
	})
	if p == nil {
		return nil, fmt.Errorf("wait ack %q: unknown envelope id", envelopeID)
	}
	if !ok {
		return nil, fmt.Errorf("wait ack %s: not acked within %v", envelopeID, timeout)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return p.ack, nil
}

// Acks returns every frame received on any socket, oldest first.
func (s *Server) Acks() []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.acks)
}

// OpenCount returns how many times apps.connections.open succeeded.
func (s *Server) OpenCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opens
}

// Sockets returns the ids of the open sockets, oldest first.
func (s *Server) Sockets() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.openIDs()
}

// WaitOpen waits until apps.connections.open has succeeded at least opens times and
// a socket is open. Envelopes pushed to a new socket always follow its hello.
func (s *Server) WaitOpen(opens int, timeout time.Duration) error {
	ok := s.waitFor(timeout, func() bool { return s.opens >= opens && len(s.sockets) > 0 })
	if !ok {
		return fmt.Errorf("wait for %d opens: not done within %v", opens, timeout)
	}
	return nil
}

// Disconnect sends a disconnect frame with reason ("warning", "refresh_requested",
// "link_disabled") to the given sockets (all open ones if none are given), stops
// delivering to them, and closes each when the client does or after a grace period.
func (s *Server) Disconnect(reason string, sockets ...int) {
	for _, so := range s.take(sockets) {
		_ = so.write(frame("disconnect", reason, 0))
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			select {
			case <-so.done:
			case <-time.After(disconnectGrace):
			}
			so.conn.Close()
		}()
	}
}

// Drop closes the given sockets (all open ones if none are given) abruptly, without a
// close frame, as a broken network would.
func (s *Server) Drop(sockets ...int) {
	for _, so := range s.take(sockets) {
		so.conn.Close()
	}
}

// take removes sockets from the open set and returns them.
func (s *Server) take(ids []int) []*socket {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(ids) == 0 {
		ids = s.openIDs()
	}
	var out []*socket
	for _, id := range ids {
		if so, ok := s.sockets[id]; ok {
			out = append(out, so)
			delete(s.sockets, id)
		}
	}
	s.notify()
	return out
}
