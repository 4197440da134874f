package jenkinstest

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// field is one key of an ordered JSON object.
type field struct {
	key string
	val any
}

// object is a JSON object that keeps its key order, as Stapler's exporter does.
type object []field

// MarshalJSON encodes the fields in order, without HTML escaping.
func (o object) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	buf.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := enc.Encode(f.key); err != nil {
			return nil, err
		}
		buf.Truncate(buf.Len() - 1)
		buf.WriteByte(':')
		if err := enc.Encode(f.val); err != nil {
			return nil, err
		}
		buf.Truncate(buf.Len() - 1)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// prune keeps _class and the fields named in tree (nil tree keeps all).
func (o object) prune(tree map[string]string) object {
	if tree == nil {
		return o
	}
	var out object
	for _, f := range o {
		sub, ok := tree[f.key]
		if f.key != "_class" && !ok {
			continue
		}
		if list, isList := f.val.([]object); isList && sub != "" {
			subTree, _ := parseTree(sub)
			pruned := make([]object, len(list))
			for i, el := range list {
				pruned[i] = el.prune(subTree)
			}
			f.val = pruned
		}
		out = append(out, f)
	}
	return out
}

var errBadTree = errors.New("malformed tree parameter")

// parseTree reads Stapler's tree syntax (a,b[c,d]) one level deep: each
// top-level name maps to its nested spec, empty when none.
func parseTree(spec string) (map[string]string, error) {
	out := make(map[string]string)
	depth, start := 0, 0
	for i := 0; i <= len(spec); i++ {
		if i < len(spec) && spec[i] == '[' {
			depth++
		}
		if i < len(spec) && spec[i] == ']' {
			depth--
		}
		if depth < 0 {
			return nil, errBadTree
		}
		if i == len(spec) || spec[i] == ',' && depth == 0 {
			if err := addTreeItem(out, spec[start:i]); err != nil {
				return nil, err
			}
			start = i + 1
		}
	}
	if depth != 0 {
		return nil, errBadTree
	}
	return out, nil
}

func addTreeItem(out map[string]string, item string) error {
	name, sub, nested := strings.Cut(item, "[")
	if name == "" {
		return errBadTree
	}
	if nested {
		sub = strings.TrimSuffix(sub, "]")
	}
	out[name] = sub
	return nil
}

// userJSON serves /user/{u}/api/json; property is empty unless the caller
// may administer the user.
func (s *Server) userJSON(w http.ResponseWriter, r *http.Request, c *caller, u *user) {
	var tree map[string]string
	if spec := r.Form.Get("tree"); spec != "" {
		var err error
		if tree, err = parseTree(spec); err != nil {
			sendError(w, http.StatusInternalServerError, err.Error())
			return
		}
	}
	props := []object{}
	if c.canAdminUser(u) {
		props = userProperties(u)
	}
	writeJSON(w, object{
		{"_class", "hudson.model.User"},
		{"absoluteUrl", s.URL + "/user/" + rawEncode(keyFor(u.id))},
		{"description", nil},
		{"fullName", u.fullName},
		{"id", u.id},
		{"property", props},
	}.prune(tree))
}

func userProperties(u *user) []object {
	var addr any
	if u.email != "" {
		addr = u.email
	}
	return []object{
		{{"_class", tokenProperty}},
		{{"_class", "hudson.tasks.Mailer$UserProperty"}, {"address", addr}},
		{{"_class", seedProperty}},
	}
}

// rawEncode approximates Jenkins' Util.rawEncode, which leaves
// !$&'()*+,-.=@_ unencoded.
func rawEncode(s string) string {
	enc := url.PathEscape(s)
	for _, c := range []string{"!", "'", "(", ")", "*"} {
		enc = strings.ReplaceAll(enc, url.QueryEscape(c), c)
	}
	return strings.ReplaceAll(enc, "~", "%7E")
}

// sortedUsers returns users by id, for scripts that sort.
func (s *Server) sortedUsers() []*user {
	out := make([]*user, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b *user) int { return strings.Compare(a.id, b.id) })
	return out
}
