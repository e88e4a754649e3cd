package proxy

import (
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// guard refuses, before any handler or token check runs, what a web page in
// a browser on the same machine could send to the API: a cross-origin
// request (CSRF: Origin names another site, or Sec-Fetch-Site says so), a
// foreign Host header (DNS rebinding: evil.example resolving to 127.0.0.1),
// and a body that is not declared JSON (an HTML form cannot declare it
// without a CORS preflight, which this API never answers). It writes the
// refusal and reports false.
func (a *API) guard(w http.ResponseWriter, r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		writeJSONError(w, http.StatusForbidden, "cross-origin request refused (Sec-Fetch-Site: %s): the control API does not serve web pages of other sites", site)
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		if u, err := url.Parse(o); err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
			writeJSONError(w, http.StatusForbidden, "cross-origin request from %q refused: the control API only answers its own origin (http://%s)", o, r.Host)
			return false
		}
	}
	if !a.hostAllowed(r.Host) {
		writeJSONError(w, http.StatusForbidden, "Host %q is not an address of this control API (valid: %s); a foreign Host is how DNS rebinding reaches a local API — to reach it by another name start chaos proxy with --api-host NAME", r.Host, a.validHosts())
		return false
	}
	if r.ContentLength != 0 || r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			writeJSONError(w, http.StatusUnsupportedMediaType, "Content-Type %q is not JSON (valid: Content-Type: application/json)", r.Header.Get("Content-Type"))
			return false
		}
	}
	return true
}

// hostAllowed accepts the listen address itself, localhost or a loopback IP
// with any port, a name given with AllowHosts, and — when the API is bound
// beyond loopback — an address of the interface it listens on.
func (a *API) hostAllowed(hostport string) bool {
	if hostport == "" {
		return false
	}
	if a.Listen != "" && strings.EqualFold(hostport, a.Listen) {
		return true
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.Trim(host, "[]"))
	ip := net.ParseIP(host)
	if host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return true
	}
	if slices.ContainsFunc(a.AllowHosts, func(h string) bool { return strings.EqualFold(h, host) || strings.EqualFold(h, hostport) }) {
		return true
	}
	return ip != nil && slices.ContainsFunc(a.listenIPs(), ip.Equal)
}

// listenIPs are the addresses a client may use to reach an API bound beyond
// loopback: every interface address when bound to 0.0.0.0 or ::, else the
// addresses of the interface holding the bound address. They are read per
// call (only for requests not already accepted), so a changed address counts.
func (a *API) listenIPs() []net.IP {
	host, _, err := net.SplitHostPort(a.Listen)
	if err != nil {
		return nil
	}
	bound := net.ParseIP(strings.Trim(host, "[]"))
	if bound == nil || bound.IsLoopback() {
		return nil
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var out []net.IP
	for _, ifc := range ifaces {
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		var ips []net.IP
		holds := bound.IsUnspecified()
		for _, ad := range addrs {
			if n, ok := ad.(*net.IPNet); ok {
				ips = append(ips, n.IP)
				holds = holds || n.IP.Equal(bound)
			}
		}
		if holds {
			out = append(out, ips...)
		}
	}
	return out
}

func (a *API) validHosts() string {
	v := []string{}
	if a.Listen != "" {
		v = append(v, a.Listen)
	}
	v = append(v, "localhost or a loopback address with any port")
	v = append(v, a.AllowHosts...)
	if len(a.listenIPs()) > 0 {
		v = append(v, "an address of the listening interface")
	}
	return strings.Join(v, ", ")
}
