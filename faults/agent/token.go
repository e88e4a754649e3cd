package agent

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/chaos-sre/chaos/internal/safefile"
)

// MinToken is the fewest characters an agent's token may have.
const MinToken = 16

// TokenEnv holds the token when no token file is given.
const TokenEnv = "CHAOS_AGENT_TOKEN"

// LoadToken reads the agent's token from file (the Secret's key mounted as
// a file), else from $CHAOS_AGENT_TOKEN: one line, at least MinToken
// characters.
func LoadToken(file string) (string, error) {
	tok, from := os.Getenv(TokenEnv), "$"+TokenEnv
	if file != "" {
		b, err := safefile.ReadLimit(file, "token", 4096)
		if err != nil {
			return "", err
		}
		tok, from = string(b), file
	}
	tok = strings.TrimSpace(tok)
	switch {
	case tok == "" && file == "":
		return "", fmt.Errorf("no token (valid: --token-file FILE, the Secret %s/%s key %s mounted as a file, or $%s)", Namespace, SecretName, SecretKey, TokenEnv)
	case strings.ContainsAny(tok, "\r\n"):
		return "", fmt.Errorf("%s holds more than one line (valid: the token alone, on one line)", from)
	case len(tok) < MinToken:
		return "", fmt.Errorf("the token of %s has %d characters, fewer than %d (valid: e.g. openssl rand -hex 32)", from, len(tok), MinToken)
	}
	return tok, nil
}

// authorized compares the request's token with the agent's in constant
// time (of their hashes: the length does not show either).
func (a *Agent) authorized(r *http.Request) bool {
	got := sha256.Sum256([]byte(r.Header.Get(TokenHeader)))
	want := sha256.Sum256(a.token)
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}
