package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/chaos-sre/chaos/experiments"
	"github.com/chaos-sre/chaos/verify/report"
)

func newSchemaCmd(stdout io.Writer) *cobra.Command {
	var ofReport, ofSuite bool
	c := &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of experiment files (for editors), of suites with --suite, of reports with --report",
		Long: "Schema prints a JSON Schema generated from the same Go types the decoder uses.\nEditors with the YAML language server pick it up from a first line such as\n  # yaml-language-server: $schema=./chaos-v1.schema.json\n" +
			"With --suite it prints the schema of suite files (kind: suite, for `chaos gameday`), e.g. chaos-suite-v1.schema.json.\n" +
			"With --report it prints the schema of result.json and `-o json` output: one report or an array of them (" + report.Schema + "; `chaos report` also reads " + report.SchemaV1 + " files).",
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			reg := registry(nil)
			schema := func() ([]byte, error) { return experiments.SchemaFor(reg) }
			switch {
			case ofReport && ofSuite:
				return fmt.Errorf("--report and --suite are two different schemas (valid: one of them, or neither for experiments)")
			case ofReport:
				schema = report.JSONSchema
			case ofSuite:
				schema = func() ([]byte, error) { return experiments.SuiteSchemaFor(reg) }
			}
			b, err := schema()
			if err != nil {
				return err
			}
			_, err = stdout.Write(append(b, '\n'))
			return err
		},
	}
	c.Flags().BoolVar(&ofReport, "report", false, "print the schema of run reports ("+report.Schema+", one report or an array) instead")
	c.Flags().BoolVar(&ofSuite, "suite", false, "print the schema of suite files (kind: suite) instead")
	return c
}
