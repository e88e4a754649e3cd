package proxy

import (
	"bytes"
	"errors"
	"strconv"
)

// body follows an HTTP/1.1 message body as its bytes pass by in pieces of
// any size, to find where the message ends without buffering it.
type body struct {
	mode  bodyMode
	left  int64 // length: bytes to go; chunked: bytes to go of the chunk and its CRLF
	chunk chunkAt
	line  []byte // chunked: the size or trailer line gathered so far
}

type bodyMode int

const (
	bodyNone    bodyMode = iota // no body (HEAD, 204, 304, a request without one)
	bodyLength                  // Content-Length
	bodyChunked                 // Transfer-Encoding: chunked
	bodyToClose                 // a response that ends when the connection does
)

type chunkAt int

const (
	chunkSize chunkAt = iota
	chunkData
	chunkTrailer
)

var errChunk = errors.New("bad chunked encoding")

// newBody is the body a message head announces.
func newBody(f framing, request, bodyless bool) body {
	switch {
	case bodyless:
		return body{mode: bodyNone}
	case f.chunked:
		return body{mode: bodyChunked}
	case f.length > 0:
		return body{mode: bodyLength, left: f.length}
	case f.length == 0 || request:
		return body{mode: bodyNone}
	}
	return body{mode: bodyToClose}
}

// take reports how many leading bytes of b belong to the body and whether
// the body ends with them.
func (bd *body) take(b []byte) (int, bool, error) {
	switch bd.mode {
	case bodyNone:
		return 0, true, nil
	case bodyLength:
		n := int(min(bd.left, int64(len(b))))
		bd.left -= int64(n)
		return n, bd.left == 0, nil
	case bodyToClose:
		return len(b), false, nil
	}
	i := 0
	for i < len(b) {
		switch bd.chunk {
		case chunkData:
			n := int(min(bd.left, int64(len(b)-i)))
			i += n
			if bd.left -= int64(n); bd.left == 0 {
				bd.chunk = chunkSize
			}
		case chunkSize, chunkTrailer:
			j := bytes.IndexByte(b[i:], '\n')
			if j < 0 {
				bd.line = append(bd.line, b[i:]...)
				if len(bd.line) > 4<<10 {
					return i, false, errChunk
				}
				return len(b), false, nil
			}
			bd.line = append(bd.line, b[i:i+j+1]...)
			i += j + 1
			line := bytes.TrimRight(bd.line, "\r\n")
			bd.line = bd.line[:0]
			if bd.chunk == chunkTrailer {
				if len(line) == 0 {
					return i, true, nil
				}
				continue
			}
			hex, _, _ := bytes.Cut(line, []byte(";"))
			size, err := strconv.ParseInt(string(bytes.TrimSpace(hex)), 16, 64)
			switch {
			case err != nil || size < 0:
				return i, false, errChunk
			case size == 0:
				bd.chunk = chunkTrailer
			default:
				bd.chunk, bd.left = chunkData, size+2
			}
		}
	}
	return i, false, nil
}
