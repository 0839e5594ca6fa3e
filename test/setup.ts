// Runs before every test file. Tests never reach real AWS: any client built without an emulator endpoint
// would fail on these placeholder credentials rather than use a developer's own.
process.env.AWS_REGION ??= 'us-east-1';
process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
delete process.env.AWS_PROFILE;
delete process.env.AWS_SESSION_TOKEN;
