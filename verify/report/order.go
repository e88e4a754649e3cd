package report

import (
	"slices"
)

// ByOutcome returns reps in the order a reader of a combined report wants
// them: the runs whose checks failed first, then the ones that did not get
// to a verdict (aborted, tool errors, invalid, inconclusive), then the ones
// that held; runs keep their order within each group. It returns a new
// slice and leaves reps (the run order JSON keeps) as it is.
func ByOutcome(reps []*Report) []*Report {
	out := slices.Clone(reps)
	slices.SortStableFunc(out, func(a, b *Report) int { return OutcomeRank(a.ExitCode) - OutcomeRank(b.ExitCode) })
	return out
}

// OutcomeRank is the place of a run with this exit code in a combined
// view, smallest first: 0 failed (1), 1 aborted (3), 2 tool error or
// invalid (4, 2), 3 inconclusive (5) or unknown, 4 held (0).
func OutcomeRank(exitCode int) int {
	switch exitCode {
	case 1:
		return 0
	case 3:
		return 1
	case 4, 2:
		return 2
	case 0:
		return 4
	}
	return 3
}
