#!/usr/bin/env node
import "../dist/bin/dnsd.js";
