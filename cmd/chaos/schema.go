package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/chaos-sre/chaos/experiments"
	"github.com/chaos-sre/chaos/verify/report"
)

func newSchemaCmd(stdout io.Writer) *cobra.Command {
	var ofReport bool
	c := &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of experiment files (for editors), or of reports with --report",
		Long: "Schema prints a JSON Schema generated from the same Go types the decoder uses.\nEditors with the YAML language server pick it up from a first line such as\n  # yaml-language-server: $schema=./chaos-v1.schema.json\n" +
			"With --report it prints the schema of result.json and `-o json` output (" + report.Schema + "; `chaos report` also reads " + report.SchemaV1 + " files).",
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			schema := experiments.Schema
			if ofReport {
				schema = report.JSONSchema
			}
			b, err := schema()
			if err != nil {
				return err
			}
			_, err = stdout.Write(append(b, '\n'))
			return err
		},
	}
	c.Flags().BoolVar(&ofReport, "report", false, "print the schema of run reports ("+report.Schema+") instead")
	return c
}
