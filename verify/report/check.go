package report

import (
	"encoding/json"
	"time"

	"github.com/chaos-sre/chaos/verify"
)

// CheckReport is one check's verdict with its window. It embeds the check's
// verify.Result so the engine fills it as is; its JSON form (checkJSON) gives
// the time-to-recover in seconds instead of Go's nanoseconds.
type CheckReport struct {
	Name   string
	Kind   string
	Window string
	verify.Result
}

// checkJSON is the wire form of CheckReport.
type checkJSON struct {
	Name          string   `json:"name"`
	Kind          string   `json:"kind"`
	Window        string   `json:"window" jsonschema:"description=the span of the run the check judged e.g. slow-primary +5s"`
	Held          bool     `json:"held" jsonschema:"description=true only when status is held"`
	Status        string   `json:"status" jsonschema:"enum=held,enum=failed,enum=inconclusive,description=inconclusive: chaos itself was starved in the window (see self) so the check could not be judged; reason says why with numbers"`
	Measured      string   `json:"measured" jsonschema:"description=what was measured with numbers"`
	Bound         string   `json:"bound" jsonschema:"description=what the check required"`
	Reason        string   `json:"reason,omitempty" jsonschema:"description=why it failed or was inconclusive with numbers"`
	TimeToRecover *Seconds `json:"time_to_recover_s,omitempty" jsonschema:"description=set by recover checks: seconds from rollback to recovery at 0.1 s resolution"`
}

// JSONSchemaAlias makes the JSON Schema describe the wire form.
func (CheckReport) JSONSchemaAlias() any { return checkJSON{} }

// MarshalJSON writes the wire form.
func (c CheckReport) MarshalJSON() ([]byte, error) {
	w := checkJSON{Name: c.Name, Kind: c.Kind, Window: c.Window, Held: c.Held, Status: c.Status(), Measured: c.Measured, Bound: c.Bound, Reason: c.Reason}
	if c.TimeToRecover != nil {
		s := Seconds(c.TimeToRecover.Seconds())
		w.TimeToRecover = &s
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads the wire form.
func (c *CheckReport) UnmarshalJSON(b []byte) error {
	var w checkJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = CheckReport{Name: w.Name, Kind: w.Kind, Window: w.Window,
		Result: verify.Result{Held: w.Held, Inconclusive: !w.Held && w.Status == verify.StatusInconclusive,
			Measured: w.Measured, Bound: w.Bound, Reason: w.Reason}}
	if w.TimeToRecover != nil {
		d := w.TimeToRecover.Duration().Round(time.Microsecond)
		c.TimeToRecover = &d
	}
	return nil
}
