#!/usr/bin/env node
import "../dist/bin/svcproxy.js";
