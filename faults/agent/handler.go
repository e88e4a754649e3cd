package agent

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"
)

// maxBody bounds a request's body (a Request with its params is a few KB).
const maxBody = 1 << 20

// ServeHTTP implements the API of api.go. Every path but /healthz needs
// the token.
func (a *Agent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == PathHealthz {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok"))
		return
	}
	if !a.authorized(r) {
		writeError(w, failf(http.StatusUnauthorized, "no valid %s header (the token of Secret %s/%s key %s)", TokenHeader, Namespace, SecretName, SecretKey))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	rest, ok := strings.CutPrefix(r.URL.Path, PathFaults)
	switch {
	case !ok:
		writeError(w, failf(http.StatusNotFound, "no such path %s (valid: %s, %s/ID, %s/ID/renew, %s)", r.URL.Path, PathFaults, PathFaults, PathFaults, PathHealthz))
	case rest == "" || rest == "/":
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, a.list())
		case http.MethodPost:
			var req Request
			if ae := readJSON(r, &req); ae != nil {
				writeError(w, ae)
				return
			}
			got, ae := a.apply(r.Context(), req)
			if ae != nil {
				writeError(w, ae)
				return
			}
			writeJSON(w, http.StatusOK, got)
		default:
			notAllowed(w, r, http.MethodGet, http.MethodPost)
		}
	default:
		id, renew := strings.CutSuffix(strings.TrimPrefix(rest, "/"), "/renew")
		switch {
		case id == "" || strings.Contains(id, "/"):
			writeError(w, failf(http.StatusNotFound, "no such path %s", r.URL.Path))
		case renew && r.Method == http.MethodPost:
			var rr RenewRequest
			if ae := readJSON(r, &rr); ae != nil {
				writeError(w, ae)
				return
			}
			got, ae := a.renew(id, rr)
			if ae != nil {
				writeError(w, ae)
				return
			}
			writeJSON(w, http.StatusOK, got)
		case renew:
			notAllowed(w, r, http.MethodPost)
		case r.Method == http.MethodDelete:
			h := a.take(id)
			if h == nil {
				writeJSON(w, http.StatusOK, Undone{ID: id})
				return
			}
			if err := a.undo(r.Context(), h, because("run "+h.req.Run+" asked")); err != nil {
				writeError(w, failf(http.StatusInternalServerError, "%v", err))
				return
			}
			writeJSON(w, http.StatusOK, Undone{ID: id, Known: true})
		default:
			notAllowed(w, r, http.MethodDelete)
		}
	}
}

// list is every fault the agent holds, by id.
func (a *Agent) list() []Applied {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Applied, 0, len(a.held))
	for _, h := range a.held {
		out = append(out, h.view(a.o.Node))
	}
	slices.SortFunc(out, func(x, y Applied) int { return strings.Compare(x.ID, y.ID) })
	return out
}

// renew extends fault id's lease (to For + Lease after it was applied at
// the most); a fault the agent no longer holds is 404.
func (a *Agent) renew(id string, rr RenewRequest) (Applied, *answerError) {
	lease := time.Duration(rr.LeaseMillis) * time.Millisecond
	if lease <= 0 || lease > MaxLease {
		return Applied{}, invalidf("lease_ms %d is out of range (valid: 1 to %d)", rr.LeaseMillis, MaxLease.Milliseconds())
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	h, ok := a.held[id]
	if !ok || !h.applied {
		return Applied{}, failf(http.StatusNotFound, "fault %s is not held: its lease ran out, its pod went, or it was never applied here; it is undone", id)
	}
	h.extend(time.Now(), lease)
	a.nudge()
	return h.view(a.o.Node), nil
}

func readJSON(r *http.Request, v any) *answerError {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return failf(http.StatusRequestEntityTooLarge, "the body is over %d bytes", maxBody)
		}
		return invalidf("the body is not the JSON of the API: %v", err)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, ae *answerError) { writeJSON(w, ae.status, ae.body) }

func notAllowed(w http.ResponseWriter, r *http.Request, allowed ...string) {
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	writeError(w, failf(http.StatusMethodNotAllowed, "%s %s is not allowed (valid: %s)", r.Method, r.URL.Path, strings.Join(allowed, ", ")))
}
