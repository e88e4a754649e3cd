package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client drives one route of a proxy in another process (`chaos proxy`)
// through its control API. It is the Proxy of targets named
// `target: {proxy: ROUTE, api: URL}`.
type Client struct {
	API   string // base URL, e.g. http://127.0.0.1:8474
	Route string
	Token string
	HTTP  *http.Client
}

// NewClient returns a client of route at api.
func NewClient(api, route, token string) *Client {
	return &Client{API: strings.TrimRight(api, "/"), Route: route, Token: token, HTTP: &http.Client{Timeout: 10 * time.Second}}
}

// Name names the route for reports.
func (c *Client) Name() string { return c.Route + " at " + c.API }

// Add installs a fault (a Spec) and returns its id.
func (c *Client) Add(f any) (string, error) { return c.AddID("", f) }

// AddID installs a fault under an id chosen by the caller ("" lets the
// proxy pick).
func (c *Client) AddID(id string, f any) (string, error) {
	var s Spec
	switch v := f.(type) {
	case Spec:
		s = v
	case *Spec:
		s = *v
	default:
		return "", fmt.Errorf("proxy %s: %T cannot be sent to a remote proxy (valid: a proxy.Spec)", c.Name(), f)
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := c.do(context.Background(), http.MethodPost, c.faultsURL(), AddRequest{ID: id, Spec: s}, &out); err != nil {
		return "", err
	}
	return out.ID, nil
}

// Remove uninstalls a fault; an unknown id is not an error.
func (c *Client) Remove(id string) error {
	return c.RemoveContext(context.Background(), id)
}

// RemoveContext is Remove with a context.
func (c *Client) RemoveContext(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, c.faultsURL()+"/"+url.PathEscape(id), nil, nil)
}

// Check asks the API whether the route exists (preflight).
func (c *Client) Check(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, c.faultsURL(), nil, nil)
}

func (c *Client) faultsURL() string {
	return c.API + "/routes/" + url.PathEscape(c.Route) + "/faults"
}

func (c *Client) do(ctx context.Context, method, u string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("proxy %s: %w", c.Name(), err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json") // the API refuses a body that is not declared JSON
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("proxy %s: %s %s: %w", c.Name(), method, u, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return fmt.Errorf("proxy %s: %s: %w", c.Name(), method, &errAPI{Status: resp.StatusCode, Msg: msg})
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("proxy %s: bad answer: %w", c.Name(), err)
		}
	}
	return nil
}

// IsNotFound reports whether err is the control API saying the route does
// not exist (rollback treats that as "already gone").
func IsNotFound(err error) bool {
	var e *errAPI
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}
