// The program-file writers take a module holding one sdacc.program.
// RUN: sd-translate --export-sdacc %s -split-input-file -verify-diagnostics
// RUN: sd-translate --export-sdacc-text %s -split-input-file -verify-diagnostics

// expected-error @+1 {{expected exactly one sdacc.program}}
module {
}

// -----

// expected-error @+1 {{expected exactly one sdacc.program}}
module {
  sdacc.program {
  }
  sdacc.program {
  }
}
