package slacktest

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Block Kit limits Slack enforces (docs: reference/block-kit/blocks, block-elements,
// composition-objects).
const (
	maxMessageBlocks = 50
	maxViewBlocks    = 100
	maxSectionText   = 3000
	maxFields        = 10
	maxFieldText     = 2000
	maxActions       = 25
	maxContext       = 10
	maxHeaderText    = 150
	maxButtonText    = 75
	maxButtonValue   = 2000
	maxButtonURL     = 3000
	maxID            = 255
)

type textObj struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type confirmObj struct {
	Title   *textObj `json:"title"`
	Text    *textObj `json:"text"`
	Confirm *textObj `json:"confirm"`
	Deny    *textObj `json:"deny"`
	Style   string   `json:"style"`
}

type element struct {
	Type     string      `json:"type"`
	ActionID string      `json:"action_id"`
	Text     *textObj    `json:"text"`
	Value    string      `json:"value"`
	URL      string      `json:"url"`
	Style    string      `json:"style"`
	Confirm  *confirmObj `json:"confirm"`
	AltText  string      `json:"alt_text"`
}

type block struct {
	Type      string            `json:"type"`
	BlockID   string            `json:"block_id"`
	Text      *textObj          `json:"text"`
	Fields    []textObj         `json:"fields"`
	Accessory *element          `json:"accessory"`
	Elements  []json.RawMessage `json:"elements"`
}

var knownBlocks = map[string]bool{
	"section": true, "actions": true, "context": true, "header": true, "divider": true,
	"image": true, "input": true, "rich_text": true, "markdown": true, "file": true,
	"video": true,
}

// validateBlocks checks Block Kit JSON against Slack's limits; a non-nil error means
// Slack answers invalid_blocks.
func validateBlocks(raw string, maxBlocks int) error {
	var bs []block
	if err := json.Unmarshal([]byte(raw), &bs); err != nil {
		return fmt.Errorf("parse blocks: %w", err)
	}
	if len(bs) > maxBlocks {
		return fmt.Errorf("%d blocks, at most %d allowed", len(bs), maxBlocks)
	}
	seen := map[string]bool{}
	for i, b := range bs {
		if err := validateBlock(b, seen); err != nil {
			return fmt.Errorf("block %d (%s): %w", i, b.Type, err)
		}
	}
	return nil
}

func validateBlock(b block, seen map[string]bool) error {
	if !knownBlocks[b.Type] {
		return errors.New("unknown block type")
	}
	if b.BlockID != "" {
		if seen[b.BlockID] {
			return fmt.Errorf("duplicate block_id %q", b.BlockID)
		}
		seen[b.BlockID] = true
	}
	if err := maxLen("block_id", b.BlockID, maxID); err != nil {
		return err
	}
	switch b.Type {
	case "section":
		return validateSection(b)
	case "actions":
		return validateActions(b)
	case "context":
		return countRange("elements", len(b.Elements), maxContext)
	case "header":
		if b.Text == nil || b.Text.Type != "plain_text" {
			return errors.New("header text must be plain_text")
		}
		return textRange("header text", b.Text.Text, maxHeaderText)
	}
	return nil
}

func validateSection(b block) error {
	if b.Text == nil && len(b.Fields) == 0 {
		return errors.New("section needs text or fields")
	}
	if b.Text != nil {
		if err := textRange("section text", b.Text.Text, maxSectionText); err != nil {
			return err
		}
	}
	if len(b.Fields) > maxFields {
		return fmt.Errorf("%d fields, at most %d allowed", len(b.Fields), maxFields)
	}
	for _, f := range b.Fields {
		if err := textRange("field text", f.Text, maxFieldText); err != nil {
			return err
		}
	}
	if b.Accessory != nil {
		return validateElement(*b.Accessory)
	}
	return nil
}

func validateActions(b block) error {
	if err := countRange("elements", len(b.Elements), maxActions); err != nil {
		return err
	}
	ids := map[string]bool{}
	for _, raw := range b.Elements {
		var e element
		if err := json.Unmarshal(raw, &e); err != nil {
			return fmt.Errorf("parse element: %w", err)
		}
		if e.ActionID != "" && ids[e.ActionID] {
			return fmt.Errorf("duplicate action_id %q", e.ActionID)
		}
		ids[e.ActionID] = true
		if err := validateElement(e); err != nil {
			return err
		}
	}
	return nil
}

func validateElement(e element) error {
	if err := maxLen("action_id", e.ActionID, maxID); err != nil {
		return err
	}
	if e.Type != "button" {
		return nil
	}
	if e.Text == nil || e.Text.Type != "plain_text" {
		return errors.New("button text must be plain_text")
	}
	checks := []error{
		textRange("button text", e.Text.Text, maxButtonText),
		maxLen("button value", e.Value, maxButtonValue),
		maxLen("button url", e.URL, maxButtonURL),
	}
	if e.Style != "" && e.Style != "primary" && e.Style != "danger" {
		checks = append(checks, fmt.Errorf("button style %q", e.Style))
	}
	if e.Confirm != nil {
		checks = append(checks, validateConfirm(*e.Confirm))
	}
	return errors.Join(checks...)
}

func validateConfirm(c confirmObj) error {
	parts := []struct {
		name string
		obj  *textObj
		max  int
	}{
		{"confirm title", c.Title, 100}, {"confirm text", c.Text, 300},
		{"confirm confirm", c.Confirm, 30}, {"confirm deny", c.Deny, 30},
	}
	for _, p := range parts {
		if p.obj == nil {
			return fmt.Errorf("%s missing", p.name)
		}
		if err := textRange(p.name, p.obj.Text, p.max); err != nil {
			return err
		}
	}
	if c.Style != "" && c.Style != "primary" && c.Style != "danger" {
		return fmt.Errorf("confirm style %q", c.Style)
	}
	return nil
}

func textRange(name, s string, maxChars int) error {
	if s == "" {
		return fmt.Errorf("%s empty", name)
	}
	return maxLen(name, s, maxChars)
}

func maxLen(name, s string, maxChars int) error {
	if n := utf8.RuneCountInString(s); n > maxChars {
		return fmt.Errorf("%s has %d characters, at most %d allowed", name, n, maxChars)
	}
	return nil
}

func countRange(name string, n, maxN int) error {
	if n == 0 || n > maxN {
		return fmt.Errorf("%d %s, 1 to %d allowed", n, name, maxN)
	}
	return nil
}

// button is a button found in posted blocks.
type button struct {
	blockID, actionID, value, text string
}

// findButton returns the button with actionID in blocks (actions elements and
// section accessories).
func findButton(blocks json.RawMessage, actionID string) (button, bool) {
	var bs []block
	if json.Unmarshal(blocks, &bs) != nil {
		return button{}, false
	}
	for _, b := range bs {
		els := []element{}
		if b.Accessory != nil {
			els = append(els, *b.Accessory)
		}
		for _, raw := range b.Elements {
			var e element
			if json.Unmarshal(raw, &e) == nil {
				els = append(els, e)
			}
		}
		for _, e := range els {
			if e.Type == "button" && e.ActionID == actionID && e.Text != nil {
				return button{b.BlockID, e.ActionID, e.Value, e.Text.Text}, true
			}
		}
	}
	return button{}, false
}

// fillBlockIDs gives every block without a block_id a generated one, as Slack does.
func fillBlockIDs(raw json.RawMessage, next func() string) json.RawMessage {
	var bs []map[string]any
	if json.Unmarshal(raw, &bs) != nil {
		return raw
	}
	for _, b := range bs {
		if id, _ := b["block_id"].(string); id == "" {
			b["block_id"] = next()
		}
	}
	out, err := json.Marshal(bs)
	if err != nil {
		return raw
	}
	return out
}
