// The `netconverge` command line (spec §7): run, apply, plan, validate, status, events, db.
// Exit codes: 0 success (plan: no changes), 1 failure, 2 plan with changes pending.
#pragma once

namespace nc::cli {

int Main(int argc, char** argv);

}  // namespace nc::cli
