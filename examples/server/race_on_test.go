//go:build race

package main

// raceDetector tells tests that the race detector is on: it multiplies
// the resident memory of every process built with it.
const raceDetector = true
