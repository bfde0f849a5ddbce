// placeholder replaced by the CLI dispatcher
process.stdout.write('pisar-review\n');
