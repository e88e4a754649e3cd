package remotetest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/chaos-sre/chaos/faults/agent"
)

// Call is one request a Recorder got.
type Call struct {
	Method, Path, Token string
	Body                []byte
	At                  time.Time
}

// Recorder answers the agent's protocol (faults/agent) the simplest way,
// holding faults in a map and applying nothing, and records every call:
// what the run sends and when, for tests of the run's side (its requests,
// renewals, undo) before and beside the real agent.
type Recorder struct {
	Token string
	Node  string
	// InvalidKind is a kind the recorder refuses as invalid.
	InvalidKind string

	mu    sync.Mutex
	calls []Call
	held  map[string]agent.Applied
}

// Calls is every call so far.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Call(nil), r.calls...)
}

// Held is the faults it holds now, by id.
func (r *Recorder) Held() map[string]agent.Applied {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]agent.Applied{}
	for k, v := range r.held {
		out[k] = v
	}
	return out
}

// Hold makes the recorder hold a fault as if a run had applied it.
func (r *Recorder) Hold(a agent.Applied) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.held == nil {
		r.held = map[string]agent.Applied{}
	}
	r.held[a.ID] = a
}

// Drop forgets a fault, as an agent does when its lease runs out.
func (r *Recorder) Drop(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.held, id)
}

func answer(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// Handler serves the protocol's paths.
func (r *Recorder) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+agent.PathFaults, func(w http.ResponseWriter, q *http.Request) {
		var req agent.Request
		if err := json.NewDecoder(q.Body).Decode(&req); err != nil {
			answer(w, http.StatusBadRequest, agent.Error{Error: err.Error(), Invalid: true})
			return
		}
		if req.Kind == r.InvalidKind {
			answer(w, http.StatusBadRequest, agent.Error{Error: "kind " + req.Kind + " is refused here", Invalid: true})
			return
		}
		a := agent.Applied{ID: req.ID, Run: req.Run, Kind: req.Kind, Pod: req.Pod, Node: r.Node, Mechanism: "recorded only",
			Expires: time.Now().Add(time.Duration(req.LeaseMillis) * time.Millisecond).UTC().Format(time.RFC3339Nano)}
		r.Hold(a)
		answer(w, http.StatusOK, a)
	})
	mux.HandleFunc("POST "+agent.PathFaults+"/{id}/renew", func(w http.ResponseWriter, q *http.Request) {
		var req agent.RenewRequest
		_ = json.NewDecoder(q.Body).Decode(&req)
		r.mu.Lock()
		a, ok := r.held[q.PathValue("id")]
		if ok {
			a.Expires = time.Now().Add(time.Duration(req.LeaseMillis) * time.Millisecond).UTC().Format(time.RFC3339Nano)
			r.held[a.ID] = a
		}
		r.mu.Unlock()
		if !ok {
			answer(w, http.StatusNotFound, agent.Error{Error: "no fault " + q.PathValue("id")})
			return
		}
		answer(w, http.StatusOK, a)
	})
	mux.HandleFunc("DELETE "+agent.PathFaults+"/{id}", func(w http.ResponseWriter, q *http.Request) {
		r.mu.Lock()
		_, ok := r.held[q.PathValue("id")]
		delete(r.held, q.PathValue("id"))
		r.mu.Unlock()
		answer(w, http.StatusOK, agent.Undone{ID: q.PathValue("id"), Known: ok})
	})
	mux.HandleFunc("GET "+agent.PathFaults, func(w http.ResponseWriter, q *http.Request) {
		out := []agent.Applied{}
		for _, a := range r.Held() {
			out = append(out, a)
		}
		answer(w, http.StatusOK, out)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
		body, _ := io.ReadAll(q.Body)
		r.mu.Lock()
		r.calls = append(r.calls, Call{Method: q.Method, Path: q.URL.Path, Token: q.Header.Get(agent.TokenHeader), Body: body, At: time.Now()})
		r.mu.Unlock()
		if q.Header.Get(agent.TokenHeader) != r.Token {
			answer(w, http.StatusUnauthorized, agent.Error{Error: "wrong token"})
			return
		}
		q.Body = io.NopCloser(bytes.NewReader(body))
		mux.ServeHTTP(w, q)
	})
}
