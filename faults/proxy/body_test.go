package proxy

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// feed passes msg to bd in random pieces and returns where bd said the body
// ended (-1: it did not).
func feed(t *testing.T, bd body, msg string, rng *rand.Rand) (int, error) {
	t.Helper()
	off := 0
	for off < len(msg) {
		n := 1 + rng.IntN(len(msg)-off)
		took, done, err := bd.take([]byte(msg[off : off+n]))
		if err != nil {
			return -1, err
		}
		off += took
		if done {
			return off, nil
		}
		require.Equal(t, n, took, "a body that goes on takes all it is given")
	}
	return -1, nil
}

func TestBodyFindsTheEndInAnyPieces(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	next := "GET /next HTTP/1.1\r\n\r\n"
	for _, tc := range []struct {
		name string
		bd   body
		msg  string
	}{
		{"length", newBody(framing{length: 11}, false, false), "hello world"},
		{"chunked", newBody(framing{length: -1, chunked: true}, false, false),
			"5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\n\r\n"},
		{"chunked with trailers", newBody(framing{length: -1, chunked: true}, false, false),
			"a\r\n0123456789\r\n0\r\nX-Trailer: 1\r\nY: 2\r\n\r\n"},
		{"SSE-sized chunks", newBody(framing{length: -1, chunked: true}, false, false),
			"1d\r\ndata: {\"choices\":[\"token\"]}\n\n\r\n1d\r\ndata: {\"choices\":[\"token\"]}\n\n\r\n0\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 200 {
				end, err := feed(t, tc.bd, tc.msg+next, rng)
				require.NoError(t, err)
				assert.Equal(t, len(tc.msg), end)
			}
		})
	}
}

func TestBodyKinds(t *testing.T) {
	n, done, err := (&body{}).take([]byte("GET / HTTP/1.1\r\n"))
	assert.Equal(t, []any{0, true, nil}, []any{n, done, err}, "no body takes nothing")
	bd := newBody(framing{length: -1}, false, false)
	n, done, _ = bd.take([]byte("until the close"))
	assert.Equal(t, []any{15, false}, []any{n, done}, "a response without length runs to the close")
	bd = newBody(framing{length: -1}, true, false)
	assert.Equal(t, bodyNone, bd.mode, "a request without length has no body")
	bd = newBody(framing{length: 10}, false, true)
	assert.Equal(t, bodyNone, bd.mode, "HEAD, 204 and 304 have none whatever they say")
}

func TestBodyRejectsBadChunks(t *testing.T) {
	for _, msg := range []string{"zz\r\nhello\r\n", "-1\r\n", string(make([]byte, 5000))} {
		bd := newBody(framing{length: -1, chunked: true}, false, false)
		_, _, err := bd.take([]byte(msg))
		assert.ErrorIs(t, err, errChunk, "%q", msg)
	}
}
