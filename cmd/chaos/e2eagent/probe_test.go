//go:build linux

package e2eagent

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// sample is one fetch of a probe pod: when it was sent and how long it
// took (ok: answered 200).
type sample struct {
	at time.Time
	ms float64
	ok bool
}

// probePod starts a pod that fetches url every 100 ms and logs each fetch's
// time and latency (the probe image: pause -get URL -every 100ms), and
// waits until it has logged a few.
func (c *cluster) probePod(name, url string) {
	c.T.Helper()
	stackImages(c.T)
	one := int64(1)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: c.NS},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "probe", Image: probeImage, ImagePullPolicy: corev1.PullNever,
				Args: []string{"-get", url, "-every", "100ms"}}},
			TerminationGracePeriodSeconds: &one,
		},
	}
	_, err := c.CS.CoreV1().Pods(c.NS).Create(context.Background(), pod, metav1.CreateOptions{})
	require.NoError(c.T, err)
	waitFor(c.T, "probe "+name+" fetching "+url, time.Minute, func() bool {
		return len(c.samples(name, time.Time{})) >= 10
	})
}

// samples are the fetches probe name logged since from (zero: all).
func (c *cluster) samples(name string, from time.Time) []sample {
	c.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := c.CS.CoreV1().Pods(c.NS).GetLogs(name, &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil {
		return nil // not started yet
	}
	var out []sample
	for _, l := range strings.Split(string(b), "\n") {
		var ms int64
		var lat float64
		var res string
		if n, _ := fmt.Sscanf(l, "probe %d %f %s", &ms, &lat, &res); n != 3 {
			continue
		}
		s := sample{at: time.UnixMilli(ms), ms: lat, ok: res == "ok"}
		if !s.at.Before(from) {
			out = append(out, s)
		}
	}
	return out
}

// median is the median latency of the answered samples (-1 for none).
func median(ss []sample) float64 {
	var ms []float64
	for _, s := range ss {
		if s.ok {
			ms = append(ms, s.ms)
		}
	}
	if len(ms) == 0 {
		return -1
	}
	slices.Sort(ms)
	return ms[len(ms)/2]
}

// between are the samples sent in [from, to).
func between(ss []sample, from, to time.Time) []sample {
	var out []sample
	for _, s := range ss {
		if !s.at.Before(from) && s.at.Before(to) {
			out = append(out, s)
		}
	}
	return out
}
