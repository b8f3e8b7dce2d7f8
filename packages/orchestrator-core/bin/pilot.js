#!/usr/bin/env node
import "../dist/bin/pilot.js";
