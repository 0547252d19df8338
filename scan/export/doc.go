// Package export keeps Harbor's scan data exports: CSV files of the
// vulnerabilities found in the artifacts a user chose, each written by one
// execution that the user owns.
//
// A Store records each execution (running, then a success with its file
// or an error saying why) in SQL, owned by the user who asked for it (its
// name and creation time: a user made again under the name is someone
// else); only that user (and administrators, which the caller
// decides) may read it. Run writes a file from the records a producer
// emits, bounded in size (MaxFileBytes) and time (WithTimeout): an export
// past either bound fails with a message saying which, and keeps no
// partial file. Each user keeps their newest executions (WithKeep); older
// ones go when a new one starts. An execution left running by a process
// that stopped reads as failed once its deadline has passed.
//
// Cells are written so that spreadsheets read them as text: one starting
// with =, +, -, @, a tab or a carriage return (a formula, to a spreadsheet)
// gets a leading apostrophe, since tags and descriptions come from
// whoever pushed or scanned the image.
package export
