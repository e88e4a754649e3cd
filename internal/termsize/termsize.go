// Package termsize says how wide a terminal is, on every OS: the live view
// redraws in place only on a terminal, and fits its lines to its width.
package termsize
