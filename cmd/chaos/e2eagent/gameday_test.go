//go:build linux

package e2eagent

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chaos-sre/chaos/cmd/chaos/internal/clitest"
	"github.com/chaos-sre/chaos/experiments/gameday"
	"github.com/chaos-sre/chaos/internal/kube/kubetest"
)

// suiteFile is the example game-day suite, the one the CronJob runs.
var suiteFile = filepath.Join(kubeDir, "gameday", "suite.yaml")

// cronJobGameday installs the game-day CronJob (examples/kubernetes/gameday/
// install.sh up) into the namespace of a full stack, starts a Job from it
// as `kubectl create job --from=cronjob/…` does, and checks that it
// completed (the suite held: exit 0, in the cluster, through the API with
// the pod's ServiceAccount and through the agents with the RBAC of
// examples/kubernetes/agent/rbac.yaml) and that its history volume (a
// hostPath on this node) got the run.
func cronJobGameday(t *testing.T, c *cluster) {
	history := filepath.Join(historyDir, c.NS)
	t.Cleanup(func() {
		// the RoleBinding in chaos-system outlives the namespace
		if out, err := run(time.Minute, append([]string{"NAMESPACE=" + c.NS}, c.Env...), filepath.Join(kubeDir, "gameday", "install.sh"), "down"); err != nil {
			t.Errorf("gameday/install.sh down: %v\n%s", err, out)
		}
		_ = os.RemoveAll(history)
	})
	c.script(2*time.Minute, "gameday/install.sh", "up")
	job := "e2e-gameday-" + kubetest.Suffix()
	c.kubectl("create", "job", "--from=cronjob/chaos-gameday", job)
	start := time.Now()
	var j *batchv1.Job
	waitFor(t, "Job "+job+" to finish", 4*time.Minute, func() bool {
		var err error
		j, err = c.CS.BatchV1().Jobs(c.NS).Get(context.Background(), job, metav1.GetOptions{})
		require.NoError(t, err)
		for _, cond := range j.Status.Conditions {
			if (cond.Type == batchv1.JobComplete || cond.Type == batchv1.JobFailed) && cond.Status == corev1.ConditionTrue {
				return true
			}
		}
		return false
	})
	logs, _ := run(time.Minute, c.Env, "kubectl", "logs", "job/"+job)
	t.Logf("Job %s finished in %.1fs (succeeded %d, failed %d):\n%s", job, time.Since(start).Seconds(), j.Status.Succeeded, j.Status.Failed, logs)
	require.Equal(t, int32(1), j.Status.Succeeded, "the game-day held in the cluster")
	assert.Contains(t, logs, "gameday kubernetes-gameday: HELD (exit 0")

	b, err := os.ReadFile(filepath.Join(history, gameday.IndexFile))
	require.NoError(t, err, "the history on the Job's volume")
	assert.Equal(t, 1, strings.Count(string(b), "\n"), "one run recorded")
	e := lastRun(t, history)
	assert.Equal(t, "kubernetes-gameday", e.Suite)
	assert.Equal(t, 0, e.ExitCode)
	assert.Equal(t, map[string]string{"paused-primary-is-ejected": "held (exit 0)", "deleted-primary-is-ejected": "held (exit 0)"}, verdicts(e))
	for _, f := range []string{gameday.IndexHTML, filepath.Join(e.Dir, gameday.RunFile), filepath.Join(e.Dir, "report.html")} {
		assert.FileExists(t, filepath.Join(history, f))
	}
	c.waitStackReady()
}

// hostGameday runs the same suite file from this host, through the
// kubeconfig, against the crippled gateway (no ejection): the game-day
// fails (exit 1) and its history names both experiments, each failed on
// "replica ejected".
func hostGameday(t *testing.T, c *cluster) {
	start := time.Now()
	reports := t.TempDir()
	code, out, stderr := clitest.UntilJudged(t, func() (int, string, string) {
		return c.Chaos("gameday", suiteFile, "--report-dir", reports, "--state-dir", c.State, "--seed", "7", "-q")
	})
	t.Logf("chaos gameday %s from this host: exit %d in %.1fs", suiteFile, code, time.Since(start).Seconds())
	require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	assert.Contains(t, out, "gameday kubernetes-gameday: FAILED (exit 1")
	e := lastRun(t, reports)
	assert.Equal(t, map[string]string{"paused-primary-is-ejected": "failed (exit 1)", "deleted-primary-is-ejected": "failed (exit 1)"}, verdicts(e))
	for _, x := range e.Experiments {
		assert.Contains(t, x.Failed, "replica ejected", x.Name)
	}
	c.waitStackReady()
}

// lastRun is the last run of the history in dir (index.jsonl).
func lastRun(t *testing.T, dir string) gameday.Entry {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, gameday.IndexFile))
	require.NoError(t, err, "the game-day's history")
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var e gameday.Entry
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &e))
	return e
}

// verdicts maps each experiment of a game-day to its verdict and exit
// code.
func verdicts(e gameday.Entry) map[string]string {
	out := map[string]string{}
	for _, x := range e.Experiments {
		out[x.Name] = fmt.Sprintf("%s (exit %d)", x.Verdict, x.ExitCode)
	}
	return out
}
