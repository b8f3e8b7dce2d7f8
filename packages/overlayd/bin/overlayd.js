#!/usr/bin/env node
import "../dist/bin/overlayd.js";
