package kube

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/chaos-sre/chaos/faults/targets"
	kclient "github.com/chaos-sre/chaos/internal/kube"
)

// ExecError says a command run through pods/exec did not succeed: the API
// server or kubelet refused the exec, or the command failed in the
// container (Status says how, Output what it printed).
type ExecError struct {
	Pod, Container string
	Status         metav1.Status
	Output         string
}

func (e *ExecError) Error() string {
	msg := strings.TrimSpace(e.Status.Message)
	if out := strings.TrimSpace(e.Output); out != "" {
		msg += " (output: " + out + ")"
	}
	return fmt.Sprintf("exec in container %s of pod %s: %s", e.Container, e.Pod, msg)
}

// notFound says the exec failed because the container has no such command.
func (e *ExecError) notFound() bool {
	m := strings.ToLower(e.Status.Message)
	// the runtime's words for a missing command; not a bare "404 Not
	// Found", which is the node (kwok's, say) refusing exec altogether
	return strings.Contains(m, "executable file not found") || strings.Contains(m, "no such file")
}

// killed says the command itself was killed with SIGKILL (exit code 137):
// the runtime tears down every process of a container once its PID 1 exits.
func (e *ExecError) killed() bool {
	if e.Status.Details == nil {
		return false
	}
	for _, c := range e.Status.Details.Causes {
		if c.Type == "ExitCode" && c.Message == "137" {
			return true
		}
	}
	return false
}

// execIn runs command in a container through the pods/exec subresource, on
// a WebSocket with the v4.channel.k8s.io protocol (channel 1 stdout, 2
// stderr, 3 the final Status). client-go's executor would bring in three
// modules for this one request; the protocol is small enough to speak here.
func execIn(ctx context.Context, c targets.Cluster, ns, pod, container string, command ...string) (string, error) {
	cfg, err := kclient.Config(c)
	if err != nil {
		return "", err
	}
	tlsCfg, err := rest.TLSConfigFor(cfg)
	if err != nil {
		return "", fmt.Errorf("kubernetes: %w", err)
	}
	if tlsCfg != nil {
		tlsCfg = tlsCfg.Clone()
		tlsCfg.NextProtos = []string{"http/1.1"} // an Upgrade needs HTTP/1.1
	}
	rt, err := rest.HTTPWrappersForConfig(cfg, &http.Transport{TLSClientConfig: tlsCfg, Proxy: cfg.Proxy})
	if err != nil {
		return "", fmt.Errorf("kubernetes: %w", err)
	}
	u, err := url.Parse(cfg.Host)
	if err != nil {
		return "", fmt.Errorf("kubernetes: API server %q: %w", cfg.Host, err)
	}
	u = u.JoinPath("/api/v1/namespaces", ns, "pods", pod, "exec")
	q := url.Values{"container": {container}, "stdout": {"true"}, "stderr": {"true"}, "command": command}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", base64.StdEncoding.EncodeToString(nonce[:]))
	req.Header.Set("Sec-WebSocket-Protocol", "v4.channel.k8s.io")
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return "", fmt.Errorf("exec in pod %s/%s: %w", ns, pod, err)
	}
	defer resp.Body.Close()
	failed := &ExecError{Pod: ns + "/" + pod, Container: container}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
		if json.Unmarshal(b, &failed.Status) != nil || failed.Status.Message == "" {
			failed.Status.Message = fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
		}
		return "", failed
	}
	conn, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		return "", fmt.Errorf("exec in pod %s/%s: the upgraded connection cannot be read", ns, pod)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	var out strings.Builder
	status, err := readChannels(bufio.NewReader(conn), &out)
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return out.String(), fmt.Errorf("exec in pod %s/%s: %w", ns, pod, err)
	}
	if status != nil && status.Status != metav1.StatusSuccess {
		failed.Status, failed.Output = *status, out.String()
		return out.String(), failed
	}
	return out.String(), nil
}

// readChannels reads WebSocket messages until the server closes: channels
// 1 and 2 into out (up to 64 KB), channel 3 as the command's Status.
func readChannels(r *bufio.Reader, out *strings.Builder) (*metav1.Status, error) {
	var status *metav1.Status
	var msg []byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			if err == io.EOF && status != nil {
				return status, nil
			}
			return status, fmt.Errorf("read: %w", err)
		}
		fin, opcode := h[0]&0x80 != 0, h[0]&0x0f
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(r, b[:]); err != nil {
				return status, err
			}
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(r, b[:]); err != nil {
				return status, err
			}
			n = binary.BigEndian.Uint64(b[:])
		}
		var mask [4]byte
		if h[1]&0x80 != 0 {
			if _, err := io.ReadFull(r, mask[:]); err != nil {
				return status, err
			}
		}
		if n > 1<<20 {
			return status, fmt.Errorf("a frame of %d bytes", n)
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(r, payload); err != nil {
			return status, err
		}
		if h[1]&0x80 != 0 {
			for i := range payload {
				payload[i] ^= mask[i%4]
			}
		}
		switch opcode {
		case 0x8: // close
			return status, nil
		case 0x9, 0xa: // ping, pong
			continue
		}
		msg = append(msg, payload...)
		if !fin {
			continue
		}
		if len(msg) > 0 {
			switch msg[0] {
			case 1, 2:
				if out.Len() < 64<<10 {
					out.Write(msg[1:])
				}
			case 3:
				if len(msg) > 1 {
					status = &metav1.Status{}
					if err := json.Unmarshal(msg[1:], status); err != nil {
						return nil, fmt.Errorf("the command's status %q: %w", msg[1:], err)
					}
				}
			}
		}
		msg = msg[:0]
	}
}
