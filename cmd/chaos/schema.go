package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/chaos-sre/chaos/experiments"
)

func newSchemaCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of experiment files (for editors)",
		Long:  "Schema prints a JSON Schema generated from the same Go types the decoder uses.\nEditors with the YAML language server pick it up from a first line such as\n  # yaml-language-server: $schema=./chaos-v1.schema.json",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			b, err := experiments.Schema()
			if err != nil {
				return err
			}
			_, err = stdout.Write(append(b, '\n'))
			return err
		},
	}
}
